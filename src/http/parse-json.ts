import { InvalidJsonError, UnsupportedMediaTypeError } from "./errors";

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** Only what is plainly something else; Bandwidth sends application/json, tools send anything. */
const NOT_JSON =
	/^(?:multipart\/|application\/x-www-form-urlencoded|application\/xml|text\/xml|text\/html|image\/|audio\/|video\/)/i;

export function assertJsonContentType(contentType: string | null): void {
	if (contentType !== null && NOT_JSON.test(contentType.trim())) {
		throw new UnsupportedMediaTypeError(contentType);
	}
}

export function parseJson(body: Uint8Array): unknown {
	let text: string;
	try {
		text = decoder.decode(body);
	} catch {
		throw new InvalidJsonError("the body is not valid UTF-8");
	}
	try {
		return JSON.parse(text);
	} catch (error) {
		throw new InvalidJsonError(`the body is not valid JSON: ${(error as Error).message}`);
	}
}
