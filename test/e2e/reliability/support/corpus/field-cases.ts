import { type ElementFactory, setPath, type Template } from "./elements.ts";
import { acceptedBody, type CorpusCase, callbackRequest, type ElementFate, quarantinedAt, STORED } from "./model.ts";

/*
 * Every field of an event given every wrong JSON type, and left out. The fate follows DESIGN §6:
 * `type`, `message` and `message.id` are needed by any element; for a known type the envelope
 * `time`/`to` and message `owner`, `applicationId`, `time`, `direction`, `to`, `from` are required
 * (times must be real RFC 3339 dates); `errorCode` is a nullable integer; anything else of the
 * wrong type is read as absent and the event stored.
 */

type Kind = "string" | "id" | "timestamp" | "direction" | "strings" | "integer" | "object" | "errorCode";
type Required = "always" | "known" | "never";

interface Field {
	path: readonly string[];
	kind: Kind;
	required: Required;
}

const FIELDS: readonly Field[] = [
	{ path: ["type"], kind: "string", required: "always" },
	{ path: ["time"], kind: "timestamp", required: "known" },
	{ path: ["to"], kind: "string", required: "known" },
	{ path: ["description"], kind: "string", required: "never" },
	{ path: ["carrierName"], kind: "string", required: "never" },
	{ path: ["message"], kind: "object", required: "always" },
	{ path: ["message", "id"], kind: "id", required: "always" },
	{ path: ["message", "owner"], kind: "string", required: "known" },
	{ path: ["message", "applicationId"], kind: "string", required: "known" },
	{ path: ["message", "time"], kind: "timestamp", required: "known" },
	{ path: ["message", "direction"], kind: "direction", required: "known" },
	{ path: ["message", "to"], kind: "strings", required: "known" },
	{ path: ["message", "from"], kind: "string", required: "known" },
	{ path: ["message", "text"], kind: "string", required: "never" },
	{ path: ["message", "media"], kind: "strings", required: "never" },
	{ path: ["message", "segmentCount"], kind: "integer", required: "never" },
	{ path: ["message", "tag"], kind: "string", required: "never" },
	{ path: ["message", "priority"], kind: "string", required: "never" },
	{ path: ["message", "channel"], kind: "string", required: "never" },
];
const ERROR_CODE: Field = { path: ["errorCode"], kind: "errorCode", required: "always" };

type Wrong = readonly [label: string, value: unknown, fate?: "stored"];

const NOT_A_STRING: readonly Wrong[] = [
	["number", 42],
	["boolean", true],
	["null", null],
	["array", ["+15551234567"]],
	["object", { value: "+15551234567" }],
];

const WRONG: Record<Kind, readonly Wrong[]> = {
	string: NOT_A_STRING,
	id: [...NOT_A_STRING, ["empty string", ""]],
	timestamp: [
		["epoch seconds", 1719340956],
		["boolean", false],
		["null", null],
		["array", ["2024-06-25T18:42:36Z"]],
		["object", { iso: "2024-06-25T18:42:36Z" }],
		["words", "yesterday"],
		["impossible date", "2024-02-30T12:00:00Z"],
		["no time zone", "2024-06-25T18:42:36"],
		["leap second", "2024-06-30T23:59:60Z"],
	],
	direction: [
		["number", 1],
		["boolean", true],
		["null", null],
		["array", ["out"]],
		["object", { out: true }],
		["unknown word", "sideways"],
		["upper case", "OUT"],
		["normalized word", "outbound"],
	],
	strings: [
		["string", "+15551234567"],
		["number", 5],
		["boolean", false],
		["null", null],
		["object", { 0: "+15551234567" }],
		["array of numbers", [15551234567]],
		["array with null", ["+15551234567", null]],
		["nested array", [["+15551234567"]]],
	],
	integer: [
		["string", "1"],
		["boolean", true],
		["null", null],
		["array", [1]],
		["object", { count: 1 }],
		["fraction", 1.5],
	],
	object: [
		["string", "message"],
		["number", 7],
		["boolean", true],
		["null", null],
		["array", [{ id: "1" }]],
	],
	errorCode: [
		["string", "4432"],
		["boolean", true],
		["array", [4432]],
		["object", { code: 4432 }],
		["fraction", 4432.5],
		["null", null, "stored"],
	],
};

function fateOf(field: Field, template: Template, wrong?: Wrong): ElementFate {
	if (wrong?.[2] === "stored") return STORED;
	const path = field.path.join(".");
	if (field.kind === "errorCode") return wrong === undefined ? STORED : quarantinedAt(path);
	if (field.required === "always") return quarantinedAt(path);
	if (field.required === "known" && template !== "unknown") return quarantinedAt(path);
	return STORED;
}

/** The full matrix for the failed template; one wrong type per field (picked by the seed) for the others. */
export function fieldCases(factory: ElementFactory): CorpusCase[] {
	const cases: CorpusCase[] = [];
	const add = (template: Template, field: Field, wrong: Wrong | undefined) => {
		const path = field.path.join(".");
		const name = `fields/${template}/${path}${wrong === undefined ? " missing" : `=${wrong[0]}`}`;
		const element = setPath(factory.element(template, name), field.path, wrong?.[1]);
		const body = JSON.stringify([element]);
		cases.push({
			name,
			request: callbackRequest(body),
			expect: acceptedBody(body, [fateOf(field, template, wrong)]),
			notStored: [],
		});
	};
	for (const field of [...FIELDS, ERROR_CODE]) {
		for (const wrong of WRONG[field.kind]) add("failed", field, wrong);
		add("failed", field, undefined);
	}
	for (const template of ["received", "unknown"] as const) {
		for (const field of FIELDS) {
			add(template, field, factory.random.pick(WRONG[field.kind]));
			add(template, field, undefined);
		}
	}
	return cases;
}
