/*
 * One line per forwarded event, readable at a glance in a terminal:
 *   12:04:05.123  ✓ sig  bandwidth.message.failed     msg 1476…p2b2 #2  +12345678902  failed 4432 rejected-forbidden-country  evt_…
 */

/** The parts of the relay's CloudEvent (DESIGN §5) the line shows; everything else is ignored. */
export interface ForwardedEvent {
	id?: string;
	type?: string;
	subject?: string;
	data?: {
		messageId?: string;
		sequence?: number;
		status?: string | null;
		recipient?: string;
		/** The message's tag: `npm run simulate -- --failures` marks events with it (scripts/sink/simulated-failures.ts). */
		tag?: string | null;
		error?: { code?: number; name?: string } | null;
		/** Inbound MMS: the relay's copies of the media (README "Inbound MMS media"). */
		mediaCopies?: Array<{
			index?: number;
			status?: string;
			url?: string | null;
			contentType?: string | null;
			bytes?: number | null;
			reason?: string | null;
		}>;
	};
}

const TYPE_WIDTH = "bandwidth.message.delivered".length;
const RECIPIENT_WIDTH = "+12345678902".length;

export function clockTime(at: Date): string {
	const pad = (value: number, width = 2) => String(value).padStart(width, "0");
	return `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}.${pad(at.getMilliseconds(), 3)}`;
}

/** Bandwidth ids are 29 characters; the head (epoch ms) and the tail tell them apart on screen. */
export function shortMessageId(id: string): string {
	return id.length > 10 ? `${id.slice(0, 4)}…${id.slice(-4)}` : id;
}

function statusOf(data: NonNullable<ForwardedEvent["data"]>): string {
	const status = data.status ?? "-";
	if (data.error == null) return status;
	return [status, data.error.code, data.error.name].filter((part) => part !== undefined).join(" ");
}

/** One indented line per media copy: its link is what a newcomer opens in the browser. */
function mediaLines(data: NonNullable<ForwardedEvent["data"]>): string[] {
	return (data.mediaCopies ?? []).map((copy) => {
		const size = copy.bytes == null ? "" : `${copy.bytes} B`;
		const detail = copy.url ?? copy.reason ?? "";
		return ["             media", `#${copy.index ?? "?"}`, copy.status ?? "?", copy.contentType ?? "", size, detail]
			.filter((part) => part !== "")
			.join("  ");
	});
}

export function acceptedLine(event: ForwardedEvent, webhookId: string, at: Date): string {
	const data = event.data ?? {};
	const messageId = data.messageId ?? event.subject ?? "?";
	const line = [
		clockTime(at),
		"✓ sig",
		(event.type ?? "?").padEnd(TYPE_WIDTH),
		`msg ${shortMessageId(messageId)} #${data.sequence ?? "?"}`,
		(data.recipient || "-").padEnd(RECIPIENT_WIDTH),
		statusOf(data),
		event.id ?? webhookId,
	].join("  ");
	return [line, ...mediaLines(data)].join("\n");
}

export function rejectedLine(reason: string, webhookId: string | undefined, status: number, at: Date): string {
	return [clockTime(at), "✗ sig", reason, `webhook-id ${webhookId ?? "(none)"}`, `→ ${status}`].join("  ");
}

export function simulatedLine(
	event: ForwardedEvent,
	webhookId: string,
	status: number,
	reason: string,
	at: Date,
): string {
	const data = event.data ?? {};
	return [
		clockTime(at),
		`✗ ${status}`,
		(event.type ?? "?").padEnd(TYPE_WIDTH),
		`msg ${shortMessageId(data.messageId ?? event.subject ?? "?")} #${data.sequence ?? "?"}`,
		reason,
		event.id ?? webhookId,
	].join("  ");
}

/** An operational alert (README "Alerts") that the relay sent to the sink's /alerts. */
export interface AlertEvent {
	type?: string;
	subject?: string;
	data?: { cause?: string; lastError?: string | null; count?: number; backlog?: number };
}

export function alertLine(alert: AlertEvent, at: Date): string {
	const data = alert.data ?? {};
	const detail = [
		data.cause === undefined ? null : `cause ${data.cause}`,
		data.count === undefined || data.count <= 1 ? null : `${data.count} times`,
		data.backlog === undefined ? null : `backlog ${data.backlog}`,
		data.lastError == null ? null : `last error: ${data.lastError}`,
	].filter((part) => part !== null);
	return [clockTime(at), "⚑ alert", alert.type ?? "?", alert.subject ?? "", ...detail].join("  ");
}
