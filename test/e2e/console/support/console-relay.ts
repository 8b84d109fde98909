import { freePort } from "../../support/ports.ts";

/*
 * Each console test file's own port ranges (see ../../support/ports.ts for why each e2e file has its
 * own: they run beside each other), far from the other suites'. insights.test.ts has 48720–48739.
 */
export const CONSOLE_PORTS = {
	console: { relay: [48700, 48719], inspector: [49700, 49719] },
	destinations: { relay: [48740, 48759], inspector: [49740, 49759] },
} as const;

export async function consolePorts(file: keyof typeof CONSOLE_PORTS): Promise<{ port: number; inspectorPort: number }> {
	const { relay, inspector } = CONSOLE_PORTS[file];
	return { port: await freePort(...relay), inspectorPort: await freePort(...inspector) };
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
