/** What a delivery data point says about the event it carried. */
export interface EventFacts {
	eventType: string | null;
	applicationId: string | null;
	errorCode: number | null;
}

const NONE: EventFacts = { eventType: null, applicationId: null, errorCode: null };

/*
 * Read from the queue job's inline CloudEvent without parsing it (it can be ~96 KB): the relay
 * writes `source` and `type` within its first few hundred characters (src/bandwidth/normalize.ts),
 * and `data.error` ahead of `data.bandwidth`, with no object before it that could hold an "error"
 * key. Inside a JSON string a quote is escaped, so `"error":` cannot match text. A job without an
 * inline event (a large one, read from its ledger) has no facts: a metric is not worth a read.
 */
const HEAD_CHARS = 1024;
const SOURCE = /"source":"bandwidth:application:([^"\\]{1,128})"/;
const TYPE = /"type":"([^"\\]{1,100})"/;
const ERROR_CODE = /^"error":\{"code":(-?\d{1,16})[,}]/;

export function eventFactsOf(jobBody: unknown): EventFacts {
	const json = (jobBody as { event?: unknown } | null)?.event;
	if (typeof json !== "string") return NONE;
	const head = json.slice(0, HEAD_CHARS);
	const application = SOURCE.exec(head)?.[1];
	const at = json.indexOf('"error":');
	const code = at < 0 ? undefined : ERROR_CODE.exec(json.slice(at, at + 40))?.[1];
	return {
		eventType: TYPE.exec(head)?.[1] ?? null,
		applicationId: application === undefined || application === "unknown" ? null : application,
		errorCode: code === undefined ? null : Number(code),
	};
}
