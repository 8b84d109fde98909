import { inject, vi } from "vitest";
import { mediaFile } from "../../scripts/lib/media-content";
import type { MediaCopy } from "../../src/media/media-copies";
import { adminFetch } from "./admin";
import { type BandwidthElement, element } from "./fixtures";
import { BACKGROUND_WAIT_MS } from "./wait";

/** The downstream server doubles as Bandwidth's media host (scripts/lib/media-host.ts). */
export const mediaHost = () => `127.0.0.1:${inject("downstreamPort")}`;

/** A path on the stand-in media host for one file of a message; `bytes` sets its size. */
export function mediaPathOf(messageId: string, index: number, file: string): string {
	return `/api/v2/users/9900000/media/${messageId}/${index}/${file}`;
}

export function mediaUrl(messageId: string, index: number, file: string, bytes?: number): string {
	const query = bytes === undefined ? "" : `?bytes=${bytes}`;
	return `http://${mediaHost()}${mediaPathOf(messageId, index, file)}${query}`;
}

/** An inbound MMS received now (Bandwidth's 48 hours count from its time) with these media URLs. */
export function inboundMms(media: (messageId: string) => string[], messageId?: string): BandwidthElement {
	const now = new Date().toISOString();
	const base = element("ghio2022__message-received_sms_multi-media.json", { time: now, messageId });
	base.message = { ...base.message, time: now, media: media(base.message.id) };
	return base;
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
	const digest = await crypto.subtle.digest("SHA-256", bytes);
	return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The bytes and SHA-256 the stand-in serves for a path (a picture for an unsized .png, else 2,048 bytes). */
export async function expectedFile(path: string, bytes?: number): Promise<{ bytes: Uint8Array; sha256: string }> {
	const content = mediaFile(path, bytes);
	return { bytes: content, sha256: await sha256Hex(content) };
}

export async function mediaOf(messageId: string): Promise<{ status: number; items: MediaCopy[] }> {
	const response = await adminFetch(`/v1/media/${messageId}`);
	if (response.status !== 200) return { status: response.status, items: [] };
	return { status: 200, items: (await response.json<{ items: MediaCopy[] }>()).items };
}

/** Waits until every copy of the message has left `pending`. */
export async function waitForSettledMedia(messageId: string, timeout = BACKGROUND_WAIT_MS): Promise<MediaCopy[]> {
	return vi.waitUntil(
		async () => {
			const { status, items } = await mediaOf(messageId);
			return status === 200 && items.length > 0 && items.every((item) => item.status !== "pending") ? items : undefined;
		},
		{ timeout, interval: 50 },
	);
}
