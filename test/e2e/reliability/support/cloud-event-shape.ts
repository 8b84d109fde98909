/*
 * The forwarded CloudEvent's contract (DESIGN §5) as a list of violations, so one check can be run
 * over hundreds of stored events and report every event that breaks it.
 */

const TOP_KEYS = ["data", "datacontenttype", "id", "source", "specversion", "subject", "time", "type"];
const DATA_KEYS = [
	"applicationId",
	"bandwidth",
	"carrierName",
	"channel",
	"direction",
	"error",
	"from",
	"media",
	"messageId",
	"messageTime",
	"owner",
	"priority",
	"receivedAt",
	"recipient",
	"segmentCount",
	"sequence",
	"status",
	"tag",
	"text",
	"to",
];

const isStringOrNull = (value: unknown) => value === null || typeof value === "string";
const isStrings = (value: unknown) => Array.isArray(value) && value.every((item) => typeof item === "string");

export function cloudEventProblems(event: unknown): string[] {
	if (typeof event !== "object" || event === null) return ["not an object"];
	const top = event as Record<string, unknown>;
	const problems: string[] = [];
	const keys = Object.keys(top).sort();
	if (JSON.stringify(keys) !== JSON.stringify(TOP_KEYS)) problems.push(`top-level keys ${keys.join(",")}`);
	if (top.specversion !== "1.0") problems.push(`specversion ${String(top.specversion)}`);
	if (typeof top.id !== "string" || !/^evt_[a-z2-7]{26}$/.test(top.id)) problems.push(`id ${String(top.id)}`);
	if (typeof top.type !== "string" || !top.type.startsWith("bandwidth.message."))
		problems.push(`type ${String(top.type)}`);
	if (top.datacontenttype !== "application/json") problems.push(`datacontenttype ${String(top.datacontenttype)}`);
	const data = top.data as Record<string, unknown> | undefined;
	if (typeof data !== "object" || data === null) return [...problems, "data is not an object"];
	const dataKeys = Object.keys(data).sort();
	const missing = DATA_KEYS.filter((key) => !dataKeys.includes(key));
	const extra = dataKeys.filter((key) => !DATA_KEYS.includes(key));
	if (missing.length > 0) problems.push(`data lacks ${missing.join(", ")}`);
	if (extra.length > 0) problems.push(`data has unexpected ${extra.join(", ")}`);
	if (top.subject !== data.messageId) problems.push("subject differs from data.messageId");
	if ("direction" in data && !["inbound", "outbound", null].includes(data.direction as string | null)) {
		problems.push(`data.direction ${JSON.stringify(data.direction)}`);
	}
	if (!Number.isInteger(data.sequence) || (data.sequence as number) < 1)
		problems.push(`data.sequence ${String(data.sequence)}`);
	if (typeof data.text !== "string") problems.push("data.text is not a string");
	if (!isStrings(data.media)) problems.push("data.media is not an array of strings");
	if (!isStrings(data.to)) problems.push("data.to is not an array of strings");
	if (data.segmentCount !== null && !Number.isInteger(data.segmentCount)) problems.push("data.segmentCount");
	for (const key of ["from", "owner", "applicationId", "tag", "priority", "channel", "carrierName", "messageTime"]) {
		if (!isStringOrNull(data[key])) problems.push(`data.${key} is neither a string nor null`);
	}
	const error = data.error as { code?: unknown } | null;
	if (error !== null && (typeof error !== "object" || !Number.isInteger(error.code))) problems.push("data.error");
	return problems;
}
