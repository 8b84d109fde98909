import { ArchiveLine, involves } from "./archive-rewrite";

/*
 * How an erasure by phone number recognizes what it must take: the same rules for D1's rows, a
 * ledger's pending rows, archived lines and quarantined elements.
 */

/**
 * The forms a number takes inside a quarantined element's JSON text: quoted, and quoted inside an
 * escaped JSON string (the prefix kept of an element too large to store whole). Nothing in an
 * invalid element can be trusted to sit where a valid one has it, so any mention counts.
 */
export function quarantineNeedles(phoneNumber: string): string[] {
	const quoted = JSON.stringify(phoneNumber);
	return [quoted, JSON.stringify(quoted).slice(1, -1)];
}

/** Whether a stored CloudEvent names the number as sender, owner, recipient, or anywhere in message.to. */
export function eventInvolves(eventJson: string, phoneNumber: string): boolean {
	if (!eventJson.includes(JSON.stringify(phoneNumber))) return false;
	const event = new ArchiveLine(eventJson).event;
	return event !== null && involves(event, phoneNumber);
}
