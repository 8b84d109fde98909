import { categoryOfCode, type ErrorCategory } from "../bandwidth/error-codes";

/*
 * What to do about a failure, in a line, for the codes a messaging team meets most. Each line
 * restates the explanation Bandwidth gives for the code in its error table (the 2023 list,
 * test/fixtures/error-codes.tsv; REFERENCE.md §10) and its retry guidance per class; nothing here
 * goes beyond what that table says. Other codes get the guidance of their class.
 */

const BY_CODE: Readonly<Record<number, string>> = {
	4301: "The text holds characters Bandwidth cannot encode for the destination: remove or replace them.",
	4302: "The From number is not routable (a 9-digit number, say): send from a valid number.",
	4303: "The To number is not routable (a 9-digit number, say): fix or remove it.",
	4350: "Passed validation but failed on send, most likely an invalid To number: check it.",
	4360: "The message's expiration passed before it could be sent: send it again with a later expiration, if it still matters.",
	4401: "Routing loop: the message goes to its own number, or the To number is mis-provisioned. Check both numbers.",
	4403: "The From number does not belong to this account or is not enabled for messaging (Bandwidth Dashboard), or is disconnected: fix its provisioning.",
	4404: "The To number is not active or not enabled for messaging: remove it from your list.",
	4405: "The From number is not active for messaging in the industry database: enable it for messaging or send from another number.",
	4406: "The To number is not assigned to a carrier yet: remove it from your list.",
	4407: "The From number is not on this account or not configured to send: send from a number of this account.",
	4408: "The To number is not associated with an account or not configured to receive: check it.",
	4409: "The destination most likely does not support MMS: send it as SMS.",
	4410: "Bandwidth could not download the media: open the media URL yourself and make it reachable.",
	4411: "The attachments are too large together: send smaller media.",
	4412: "The media's content type is not supported: send a supported type.",
	4420: "The destination's carrier is not in Bandwidth's configuration: there is no route to it.",
	4421: "The account is not provisioned to send to this destination: ask Bandwidth to enable it.",
	4431: "The account is not provisioned for short code messaging.",
	4432: "The account is not enabled for messaging this country or zone: ask Bandwidth to enable it, or stop sending there.",
	4433: "The account is not enabled for toll-free messaging.",
	4434: "The toll-free recipient is not enabled for messaging or not active: remove it.",
	4435: "A group message may have at most 10 participants: split the group.",
	4451: "The user id in the send request is not valid: check it.",
	4452: "The application id is not valid or not on this account: check the send request.",
	4470: "Blocked by Bandwidth as spam (volume, content, SHAFT): review the content and the sending volume.",
	4481: "The From number is flagged for spam or P2P violations: stop sending from it and ask Bandwidth about the flag.",
	4482: "The recipient is blocked from receiving messages: remove it.",
	4492: "Messages to emergency numbers are forbidden.",
	4493: "The sender is not authorized to send from this account: check the account's messaging permissions.",
	4700: "The carrier or handset does not support this messaging service (a landline, say): remove the number or use another channel.",
	4701: "The destination is unreachable and SMS is not available there: try another channel.",
	4702: "The recipient's phone is off, out of reach or full: nothing to fix on your side.",
	4711: "The carrier cannot take an attachment this large: send smaller media.",
	4712: "The carrier does not support this media type: send a supported type.",
	4720: "Not a valid, messaging-enabled destination (not in the numbering plan, or a landline); toll-free to T-Mobile may mean the user blocks toll-free and short code traffic. Remove it.",
	4721: "The recipient's number is deactivated: remove it from your list.",
	4730: "The carrier has no route to the recipient (roaming, say).",
	4740: "The carrier refuses the From number (not in the numbering plan, not authorized, or its type not supported): check the number's provisioning.",
	4750: "The carrier gave no reason (on AT&T: a prepaid user out of credit, a subscriber blocking this kind of SMS, or spam).",
	4751: "Too long for the carrier: shorten the message.",
	4752: "The carrier refuses the message as malformed (blank, too long for its 160-character limit, invalid content): check the content.",
	4753: "The recipient's handset rejected the message.",
	4770: "Blocked by the carrier as spam (content, SHAFT keywords, or a flagged sender): review the content and the sender's reputation.",
	4771: "A shortened URL was rejected: use links on your own dedicated domain.",
	4772: "A sender or receiver is blocked downstream: ask Bandwidth support which number, and why.",
	4773: "Register the campaign: the number's 10DLC campaign is not active (pending, rejected or suspended); check its status with The Campaign Registry (TCR).",
	4774: "The number's 10DLC provisioning is incomplete or wrong in the industry database: ask Bandwidth support to correct it.",
	4775: "The recipient opted out: remove them from your list and stop messaging them.",
	4780: "Over your 10DLC brand's daily T-Mobile limit: keep within it; external brand vetting can improve the brand's score.",
	4781: "Over your 10DLC campaign's AT&T throughput, or throttled by AT&T (high spam rates, say): slow down.",
	4785: "Over the carrier's volume limit: back off, and retry after some time.",
	4790: "The carrier does not let this destination receive this short code's messages.",
	4791: "The carrier does not allow this short code campaign.",
	4792: "The short code is not provisioned on the carrier's network.",
	4793: "The short code has expired with the carrier.",
	4795: "The toll-free number is not verified: submit it for verification; until then unverified sending limits apply.",
	9902: "No delivery receipt came within 2 hours: the message may still have been delivered. Check before resending.",
	9999: "The carrier reported a failure Bandwidth does not recognize.",
};

/** Bandwidth's retry guidance per class of code (its error table's sections). */
const BY_CATEGORY: Readonly<Record<ErrorCategory, string>> = {
	"bandwidth-client": "Rejected by Bandwidth: repeating the request will produce the same result; fix the request.",
	"carrier-client": "Rejected by the carrier: repeating the request will produce the same result.",
	"bandwidth-server": "A Bandwidth service failure: you can retry and expect a different result.",
	"carrier-server": "A carrier service failure: a retry may succeed; retry once at most.",
	ambiguous: "Ambiguous: the message may or may not have been delivered.",
};

/** What to do about failures with this code; null for 0 (a failure that came without a code). */
export function remediationOf(code: number): string | null {
	if (code === 0) return null;
	return BY_CODE[code] ?? BY_CATEGORY[categoryOfCode(code)];
}
