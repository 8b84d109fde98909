import { ERROR_CODE_ROWS } from "./error-codes.data";

export type ErrorCategory = "bandwidth-client" | "carrier-client" | "bandwidth-server" | "carrier-server" | "ambiguous";

export interface MessageError {
	code: number;
	name: string | null;
	description: string | null;
	category: ErrorCategory;
	billable: boolean | null;
	retryable: boolean;
}

const KNOWN = new Map(
	ERROR_CODE_ROWS.map(([code, name, description, category, billable]) => [
		code as number,
		{ name, description, category, billable },
	]),
);

/**
 * Bandwidth's scheme: first digit 4 = client error, 5 = server error, 9 = ambiguous; second digit 7
 * (client) or 6 (server) means the carrier reported it. Codes newer than the 2023 table still get
 * a category this way instead of failing.
 */
export function categoryOfCode(code: number): ErrorCategory {
	const digits = String(code);
	if (digits.length !== 4) return "ambiguous";
	if (digits[0] === "4") return digits[1] === "7" ? "carrier-client" : "bandwidth-client";
	if (digits[0] === "5") return digits[1] === "6" ? "carrier-server" : "bandwidth-server";
	return "ambiguous";
}

/** 4xxx repeats the same result; 5xxx may not. 9xxx (e.g. 9902, receipt expired) may well have been delivered, so a blind resend risks a double message. */
function isRetryable(category: ErrorCategory): boolean {
	return category === "bandwidth-server" || category === "carrier-server";
}

export function describeErrorCode(code: number): MessageError {
	const known = KNOWN.get(code);
	const category = known?.category ?? categoryOfCode(code);
	return {
		code,
		name: known?.name ?? null,
		description: known?.description ?? null,
		category,
		billable: known?.billable ?? null,
		retryable: isRetryable(category),
	};
}
