import type { Element } from "../traffic.ts";
import { defineKey, type ElementFactory, nestedText, nestedValue, objectOf, type Template } from "./elements.ts";
import {
	acceptedBody,
	type CorpusCase,
	callbackRequest,
	DUPLICATE,
	type ElementFate,
	fateBySize,
	jsonOf,
	NOT_AN_OBJECT,
	quarantinedAt,
	rejected,
	STORED,
	TOO_DEEP,
} from "./model.ts";

/*
 * Input meant to hurt a parser or a runtime: thousands of nesting levels, prototype-named keys and
 * values, odd Unicode, huge strings and arrays inside an element. Each is either stored as the
 * event it still is (untouched in data.bandwidth) or quarantined with its reason; README fixes
 * the depth limit at 32 levels.
 */

const isDeepArray = (raw: unknown) => Array.isArray(raw) && jsonOf(raw)?.startsWith("[".repeat(30)) === true;
const isDeepObject = (raw: unknown) => jsonOf(raw)?.startsWith('{"a":'.repeat(30)) === true;

export function hostileCases(factory: ElementFactory, maxBodyBytes: number): CorpusCase[] {
	const cases: CorpusCase[] = [];
	const single = (name: string, element: unknown, fate: ElementFate) => {
		const body = JSON.stringify([element]);
		cases.push({ name, request: callbackRequest(body), expect: acceptedBody(body, [fate]), notStored: [] });
	};
	const text = (name: string, body: string, fates: readonly ElementFate[]) => {
		cases.push({ name, request: callbackRequest(body), expect: acceptedBody(body, fates), notStored: [] });
	};
	const valid = (name: string, template: Template = "received") => factory.element(template, name);

	// Nesting: the body itself, and inside an otherwise valid element.
	text("deep/body of 5,000 nested arrays", nestedText(5000, "array"), [{ ...TOO_DEEP, matches: isDeepArray }]);
	text("deep/body of 50,000 nested arrays", nestedText(50_000, "array"), [{ ...TOO_DEEP, matches: isDeepArray }]);
	text("deep/body of 20,000 nested objects", nestedText(20_000, "object"), [{ ...TOO_DEEP, matches: isDeepObject }]);
	for (const [where, kind] of [
		["an unknown envelope field", "object"],
		["message", "array"],
	] as const) {
		const name = `deep/10,000 levels under ${where}`;
		const element = valid(name);
		(where === "message" ? element.message : element).deep = "@@deep@@";
		text(name, JSON.stringify([element]).replace('"@@deep@@"', nestedText(10_000, kind)), [TOO_DEEP]);
	}
	// README: deeper than 32 levels is quarantined; the element is level 1, so 31 levels below it still fit.
	{
		const fits = valid("deep/32 levels in all");
		fits.extra = nestedValue(31);
		single("deep/32 levels in all", fits, STORED);
		const over = valid("deep/33 levels in all");
		over.extra = nestedValue(32);
		single("deep/33 levels in all", over, TOO_DEEP);
	}

	// Prototype-named keys at several levels, and as values where the relay looks things up.
	for (const key of ["__proto__", "constructor", "prototype"]) {
		const polluting = objectOf([
			["type", "message-received"],
			["polluted", true],
			["toString", "x"],
		]);
		const top = valid(`proto/${key} key on the element`);
		defineKey(top, key, polluting);
		single(`proto/${key} key on the element`, top, STORED);
		const inMessage = valid(`proto/${key} key in message`);
		defineKey(
			inMessage.message,
			key,
			objectOf([
				["direction", "in"],
				["polluted", true],
			]),
		);
		single(`proto/${key} key in message`, inMessage, STORED);
		const deep = valid(`proto/${key} keys three levels down`);
		deep.extra = objectOf([[key, objectOf([[key, objectOf([[key, { polluted: true }]])]])]]);
		single(`proto/${key} keys three levels down`, deep, STORED);
		const noType = valid(`proto/${key} holding the type, none of its own`);
		delete (noType as Record<string, unknown>).type;
		defineKey(noType, key, objectOf([["type", "message-received"]]));
		single(`proto/${key} holding the type, none of its own`, noType, quarantinedAt("type"));
	}
	{
		const name = "proto/__proto__ holding message.id, none of its own";
		const element = valid(name);
		delete (element.message as Record<string, unknown>).id;
		defineKey(element.message, "__proto__", { id: "1700000000000pollutedpollute" });
		single(name, element, quarantinedAt("message.id"));
		const bare = objectOf([["__proto__", [valid("proto/batch object with only __proto__")]]]);
		text("proto/batch object with only __proto__", JSON.stringify(bare), [quarantinedAt("type")]);
	}
	for (const value of ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"]) {
		single(`proto/type "${value}"`, Object.assign(valid(`proto/type ${value}`), { type: value }), STORED);
		const unknown = valid(`proto/unknown type, direction "${value}"`, "unknown");
		unknown.message.direction = value;
		single(`proto/unknown type, direction "${value}"`, unknown, STORED);
	}
	for (const value of ["__proto__", "constructor"]) {
		const element = valid(`proto/message.id "${value}"`);
		element.message.id = value;
		single(`proto/message.id "${value}"`, element, STORED);
	}

	// Unicode that is valid UTF-8 or valid JSON escapes, yet odd.
	const odd: readonly (readonly [string, string[], string])[] = [
		["lone high surrogate escape in message.text", ["message", "text"], "\\ud800 alone"],
		["lone low surrogate escape in message.text", ["message", "text"], "\\udc00 alone"],
		["reversed surrogate pair in message.text", ["message", "text"], "\\udc00\\ud800"],
		["two high surrogates in message.from", ["message", "from"], "+1\\ud800\\ud800"],
		["lone surrogate escape in the envelope to", ["to"], "+1555\\udfff"],
		["NUL escape in message.text", ["message", "text"], "a\\u0000b"],
		["NUL escape in message.id", ["message", "id"], "1700000000000\\u0000nul"],
		["noncharacters U+FFFE U+FFFF in message.text", ["message", "text"], "\\ufffe\\uffff"],
		["right-to-left override in message.from", ["message", "from"], "\\u202e1555"],
		["zero-width joiner in message.id", ["message", "id"], "1700000000000\\u200dzwj"],
		["raw emoji and combining marks in message.text", ["message", "text"], "😀 e\u0301 한국어"],
	];
	for (const [label, path, escaped] of odd) {
		const name = `unicode/${label}`;
		const element = valid(name);
		const placeholder = `@@${name}@@`;
		let node = element as Record<string, unknown>;
		for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
		node[path[path.length - 1] as string] = placeholder;
		text(name, `[${JSON.stringify(element).replace(`"${placeholder}"`, `"${escaped}"`)}]`, [STORED]);
	}
	{
		// The message id keys every store; SQLite cannot give a lone surrogate back (src/bandwidth/schemas.ts).
		const name = "unicode/lone surrogate escape in message.id";
		const element = valid(name);
		element.message.id = "@@id@@";
		text(name, `[${JSON.stringify(element).replace('"@@id@@"', '"1700000000000\\ud800lone"')}]`, [
			quarantinedAt("message.id"),
		]);
	}
	{
		const name = "unicode/keys spelled with escapes";
		const body = `[${JSON.stringify(valid(name)).replace('"type"', '"\\u0074ype"').replace('"message"', '"m\\u0065ssage"')}]`;
		text(name, body, [STORED]);
		const dupName = "unicode/duplicate type key, the last one valid";
		const dup = `[${JSON.stringify(valid(dupName)).replace('"type":', '"type":42,"type":')}]`;
		text(dupName, dup, [STORED]);
	}

	// Huge strings and arrays inside one element, under the body cap. README: an event is stored
	// only if its row fits (fateBySize); identifiers longer than 128 characters are invalid.
	const room = (element: Element) => maxBodyBytes - JSON.stringify([element]).length - 64;
	const tooLong = (path: string): ElementFate => ({
		fate: "quarantined",
		reason: new RegExp(`^${path.replace(".", "\\.")}: must be at most 128 characters$`),
	});
	for (const [label, path, fate] of [
		["message.text", ["message", "text"], fateBySize],
		["an unknown field's name", [], fateBySize],
		["message.id", ["message", "id"], () => tooLong("message.id")],
		["message.from", ["message", "from"], () => tooLong("message.from")],
		["message.owner", ["message", "owner"], () => tooLong("message.owner")],
	] as const) {
		const name = `huge/string as ${label}`;
		const element = valid(name);
		const big = "z".repeat(room(element));
		if (path.length === 0) element[big] = 1;
		else (element.message as Record<string, unknown>)[path[1]] = big;
		single(name, element, fate(element));
	}
	{
		// The received value is cut in the reason (README: about 100 characters).
		const name = "huge/string where the message object belongs";
		const element = valid(name) as Record<string, unknown>;
		element.message = "";
		element.message = "m".repeat(room(element as Element));
		const reason = /^message: Invalid type: Expected Object but received "m{99}… \(\d+ characters\)$/;
		single(name, element, { fate: "quarantined", reason });
	}
	{
		// 1e20 is 4 characters in the body and 21 once parsed and serialized again.
		const name = "huge/1e20 numbers in an unknown field";
		const element = valid(name);
		element.extra = "@@numbers@@";
		const count = Math.floor(room(element) / 5);
		const body = JSON.stringify([element]).replace('"@@numbers@@"', `[${Array(count).fill("1e20").join(",")}]`);
		const parsed = (JSON.parse(body) as Record<string, unknown>[])[0] ?? {};
		text(name, body, [fateBySize(parsed)]);
	}
	{
		const name = "huge/text in an element missing message.owner";
		const element = valid(name);
		delete (element.message as Record<string, unknown>).owner;
		element.message.text = "q".repeat(room(element));
		single(name, element, quarantinedAt("message.owner"));
		cases.push({
			name: "huge/top-level string",
			request: callbackRequest(JSON.stringify("s".repeat(maxBodyBytes - 10))),
			expect: rejected(400, "invalid_batch"),
			notStored: [],
		});
	}
	const arrays: readonly (readonly [string, string, unknown, ElementFate])[] = [
		["10,000 recipients in message.to", "to", "+15550000000", STORED],
		["10,000 numbers in message.to", "to", 5, quarantinedAt("message.to")],
		["10,000 media URLs", "media", "https://x.io/m.png", STORED],
		["10,000 nulls in message.media", "media", null, STORED],
	];
	for (const [label, key, item, fate] of arrays) {
		const name = `arrays/${label}`;
		const element = valid(name);
		element.message[key] = Array.from({ length: 10_000 }, () => item);
		single(name, element, fate);
	}
	{
		const name = "arrays/10,000 objects in an unknown field";
		const element = valid(name);
		element.extra = Array.from({ length: 10_000 }, (_, i) => ({ i }));
		single(name, element, STORED);
	}

	// Mixed batches: the valid elements land whatever sits beside them.
	{
		const name = "mixed/valid, number, valid";
		const a = valid(`${name}#a`);
		const b = valid(`${name}#b`, "failed");
		text(name, JSON.stringify([a, 7, b]), [STORED, NOT_AN_OBJECT, STORED]);
	}
	{
		const name = "mixed/valid beside 5,000 nested arrays and its own duplicate";
		const a = valid(`${name}#a`);
		text(name, `[${JSON.stringify(a)},${nestedText(5000, "array")},${JSON.stringify(a)}]`, [
			STORED,
			{ ...TOO_DEEP, matches: isDeepArray },
			DUPLICATE,
		]);
	}
	{
		const name = "mixed/every kind of element";
		const missingOwner = valid(`${name}#no-owner`, "failed");
		delete (missingOwner.message as Record<string, unknown>).owner;
		const badCode = Object.assign(valid(`${name}#bad-code`, "failed"), { errorCode: "4432" });
		const elements = [
			valid(`${name}#received`),
			missingOwner,
			valid(`${name}#unknown`, "unknown"),
			null,
			badCode,
			"a string",
			valid(`${name}#failed`, "failed"),
			[valid(`${name}#wrapped`)],
		];
		text(name, JSON.stringify(elements), [
			STORED,
			quarantinedAt("message.owner"),
			STORED,
			NOT_AN_OBJECT,
			quarantinedAt("errorCode"),
			NOT_AN_OBJECT,
			STORED,
			NOT_AN_OBJECT,
		]);
	}
	{
		const name = "mixed/200 elements, every tenth valid";
		const elements = Array.from({ length: 200 }, (_, i) => {
			const element = valid(`${name}#${i}`, i % 3 === 0 ? "failed" : "received");
			if (i % 10 !== 0) delete (element.message as Record<string, unknown>).applicationId;
			return element;
		});
		const fates = elements.map((_, i) => (i % 10 === 0 ? STORED : quarantinedAt("message.applicationId")));
		text(name, JSON.stringify(elements), fates);
	}
	{
		// Bandwidth retries a batch it got no 2xx for; a malformed one must not pile up rows.
		const name = "mixed/the same malformed batch again";
		const element = valid(name);
		delete (element as Record<string, unknown>).message;
		for (const attempt of ["first", "second"])
			text(`${name} (${attempt})`, JSON.stringify([element]), [quarantinedAt("message")]);
	}
	return cases;
}
