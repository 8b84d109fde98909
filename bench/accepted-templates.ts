import { payloadGenerator, type Template } from "./payloads.ts";
import type { Target } from "./targets.ts";

/** The relay is the oracle for which fixture elements are events; both workers get only those. */
export async function acceptedTemplates(relay: Target, templates: readonly Template[]): Promise<Template[]> {
	const accepted: Template[] = [];
	for (const template of templates) {
		const body = payloadGenerator([template], { batchSize: 1, repeatRatio: 0, seed: 1 })().body;
		const response = await fetch(relay.url, {
			method: "POST",
			headers: { ...relay.headers, "content-type": "application/json" },
			body,
		});
		const counts = (await response.json()) as { stored?: number };
		if (response.status === 200 && counts.stored === 1) accepted.push(template);
	}
	if (accepted.length === 0) throw new Error("the relay accepted none of the fixture elements; is it configured?");
	return accepted;
}
