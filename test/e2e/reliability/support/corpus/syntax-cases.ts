import type { ElementFactory } from "./elements.ts";
import { acceptedBody, bytes, type CorpusCase, callbackRequest, rejected, STORED } from "./model.ts";

/*
 * Bodies that are not JSON, not UTF-8, or not a batch: 400 invalid_json or invalid_batch (README
 * "The callback endpoint"), with the valid-looking event inside never stored. A UTF-8 BOM before
 * valid JSON is the one prefix the relay reads past (RFC 8259 §8.1 lets a parser ignore it).
 */

const INVALID_JSON: readonly (readonly [string, (event: string) => string])[] = [
	["trailing comma in array", (event) => `[${event},]`],
	["trailing comma in object", (event) => event.replace(/}$/, ",}")],
	["Bandwidth's own 9902 sample (trailing comma in message.to)", (event) => `[${event.replace(/]/, ",]")}]`],
	["single quotes", (event) => `[${event.replaceAll('"', "'")}]`],
	["unquoted keys", (event) => `[${event.replace(/"(\w+)":/g, "$1:")}]`],
	["line comment", (event) => `// callback\n[${event}]`],
	["block comment", (event) => `[/* one */${event}]`],
	["NaN", (event) => `[${event.replace(/}$/, ',"n":NaN}')}]`],
	["Infinity", (event) => `[${event.replace(/}$/, ',"n":Infinity}')}]`],
	["undefined", (event) => `[${event.replace(/}$/, ',"n":undefined}')}]`],
	["Python literals", (event) => `[${event.replace(/}$/, ',"n":None,"b":True}')}]`],
	["hex number", (event) => `[${event.replace(/}$/, ',"n":0x10}')}]`],
	["leading zero", (event) => `[${event.replace(/}$/, ',"n":012}')}]`],
	["leading plus", (event) => `[${event.replace(/}$/, ',"n":+1}')}]`],
	["bare fraction", (event) => `[${event.replace(/}$/, ',"n":.5}')}]`],
	["trailing dot", (event) => `[${event.replace(/}$/, ',"n":1.}')}]`],
	["garbage after the array", (event) => `[${event}]x`],
	["two arrays", (event) => `[${event}] [${event}]`],
	["truncated in the middle", (event) => `[${event}]`.slice(0, Math.floor(event.length / 2))],
	["unclosed string", (event) => `[${event.replace(/"}$/, "}")}]`],
	["raw newline inside a string", (event) => `[${event.replace('"text":"', '"text":"line\none')}]`],
	["raw tab inside a string", (event) => `[${event.replace('"text":"', '"text":"a\tb')}]`],
	["invalid escape", (event) => `[${event.replace('"text":"', '"text":"\\x41')}]`],
	["short unicode escape", (event) => `[${event.replace('"text":"', '"text":"\\u12')}]`],
	["missing colon", (event) => `[${event.replace('"type":', '"type" ')}]`],
	["missing comma", (event) => `[${event.replace(',"time"', '"time"')}]`],
	["unbalanced brackets", (event) => `[[${event}]`],
	["JavaScript, not JSON", (event) => `module.exports = [${event}];`],
	["NUL byte", (event) => `[${event}]\u0000`],
	["only whitespace", () => " \r\n\t "],
	["a lone comma", () => ","],
];

const NOT_A_BATCH: readonly (readonly [string, string])[] = [
	["number", "5"],
	["negative fraction", "-1.5"],
	["string", '"[{\\"type\\":\\"message-received\\"}]"'],
	["empty string", '""'],
	["true", "true"],
	["false", "false"],
	["null", "null"],
];

const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((part) => [...part]));

/** Byte sequences RFC 3629 forbids, spliced into a string value of a valid event. */
const INVALID_UTF8: readonly (readonly [string, readonly number[]])[] = [
	["0xFF byte", [0xff]],
	["0xFE byte", [0xfe]],
	["lone continuation byte", [0x80]],
	["overlong slash (C0 AF)", [0xc0, 0xaf]],
	["overlong NUL (C0 80)", [0xc0, 0x80]],
	["overlong three-byte (E0 80 AF)", [0xe0, 0x80, 0xaf]],
	["UTF-16 surrogate as UTF-8 (ED A0 80)", [0xed, 0xa0, 0x80]],
	["above U+10FFFF (F4 90 80 80)", [0xf4, 0x90, 0x80, 0x80]],
	["five-byte form (F8 88 80 80 80)", [0xf8, 0x88, 0x80, 0x80, 0x80]],
	["truncated two-byte sequence", [0xc3]],
	["truncated four-byte sequence", [0xf0, 0x9f, 0x98]],
	["Latin-1 é", [0xe9]],
];

export function syntaxCases(factory: ElementFactory): CorpusCase[] {
	const cases: CorpusCase[] = [];
	const event = (name: string) => {
		const element = factory.element("received", name);
		return { id: element.message.id, text: JSON.stringify(element) };
	};

	for (const [label, build] of INVALID_JSON) {
		const name = `json/${label}`;
		const { id, text } = event(name);
		cases.push({ name, request: callbackRequest(build(text)), expect: rejected(400, "invalid_json"), notStored: [id] });
	}
	for (const [label, body] of NOT_A_BATCH) {
		cases.push({
			name: `batch/top level ${label}`,
			request: callbackRequest(body),
			expect: rejected(400, "invalid_batch"),
			notStored: [],
		});
	}
	for (const [label, body] of [
		["Content-Length 0", new Uint8Array(0)],
		["no body, no content type", undefined],
	] as const) {
		const request = callbackRequest(new Uint8Array(0));
		if (body === undefined) {
			delete request.body;
			delete request.headers["content-type"];
		}
		cases.push({ name: `empty/${label}`, request, expect: rejected(400, "invalid_json"), notStored: [] });
	}

	for (const [label, sequence] of INVALID_UTF8) {
		const name = `utf8/${label} in message.text`;
		const { id, text } = event(name);
		const [before, after] = text.split('"text":"') as [string, string];
		const body = concat(bytes(`[${before}"text":"`), Uint8Array.from(sequence), bytes(`${after}]`));
		cases.push({ name, request: callbackRequest(body), expect: rejected(400, "invalid_json"), notStored: [id] });
	}
	{
		const name = "utf8/0xFF byte in a key";
		const { id, text } = event(name);
		const body = concat(bytes(`[${text.replace(/}$/, ',"k')}`), Uint8Array.of(0xff), bytes('":1}]'));
		cases.push({ name, request: callbackRequest(body), expect: rejected(400, "invalid_json"), notStored: [id] });
	}
	const boms: readonly (readonly [string, readonly number[], (text: string) => Uint8Array])[] = [
		["UTF-16LE BOM and body", [0xff, 0xfe], (text) => Buffer.from(text, "utf16le")],
		["UTF-16BE BOM and body", [0xfe, 0xff], (text) => Buffer.from(text, "utf16le").swap16()],
		["UTF-32LE BOM", [0xff, 0xfe, 0x00, 0x00], bytes],
		["two UTF-8 BOMs", [0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf], bytes],
		["UTF-16LE without BOM", [], (text) => Buffer.from(text, "utf16le")],
	];
	for (const [label, bom, encode] of boms) {
		const name = `bom/${label}`;
		const { id, text } = event(name);
		const body = concat(Uint8Array.from(bom), encode(`[${text}]`));
		cases.push({ name, request: callbackRequest(body), expect: rejected(400, "invalid_json"), notStored: [id] });
	}
	{
		const name = "bom/UTF-8 BOM before a valid batch";
		const body = `\uFEFF[${event(name).text}]`;
		cases.push({ name, request: callbackRequest(body), expect: acceptedBody(body, [STORED]), notStored: [] });
	}
	return cases;
}
