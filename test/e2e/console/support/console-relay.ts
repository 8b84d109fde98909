import { freePort } from "../../support/ports.ts";

/*
 * This folder's own port ranges (see ../../support/ports.ts for why each e2e file has its own), far
 * from the other suites'.
 */
export const CONSOLE_PORTS = { relay: [48700, 48719], inspector: [49700, 49719] } as const;

export async function consolePorts(): Promise<{ port: number; inspectorPort: number }> {
	return { port: await freePort(...CONSOLE_PORTS.relay), inspectorPort: await freePort(...CONSOLE_PORTS.inspector) };
}

const APPLICATION_ID = "93de2206-9669-4e07-948d-329f4b722ee2";
export const SENDER = "+12345678901";
export const RECIPIENT = "+12345678902";

/** A Bandwidth outbound status callback element (the spec2026 fixtures' shape) for `messageId` at `time`. */
export function statusElement(type: string, messageId: string, time: string): Record<string, unknown> {
	return {
		type,
		time,
		description: `${type} from the console test`,
		to: RECIPIENT,
		message: {
			id: messageId,
			time,
			to: [RECIPIENT],
			from: SENDER,
			text: "",
			applicationId: APPLICATION_ID,
			owner: SENDER,
			direction: "out",
			segmentCount: 1,
		},
	};
}

/** Bandwidth ids start with 13 digits of epoch milliseconds. */
export function newMessageId(label: string): string {
	return `${Date.now()}${label}${Math.random().toString(36).slice(2, 8)}`;
}
