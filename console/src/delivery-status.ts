import { admin } from "./api";
import type { EventDeliveries } from "./types";

/** GET /v1/deliveries/status takes up to this many event ids a call. */
const PER_CALL = 100;

/** Where each delivery of these events stands, by event id (events D1 no longer holds are absent). */
export async function deliveryStatus(eventIds: readonly string[]): Promise<Map<string, EventDeliveries>> {
	const unique = [...new Set(eventIds)];
	const found = new Map<string, EventDeliveries>();
	for (let start = 0; start < unique.length; start += PER_CALL) {
		const ids = unique.slice(start, start + PER_CALL).join(",");
		const page = await admin<{ items: EventDeliveries[] }>(`/deliveries/status?eventIds=${ids}`);
		for (const item of page.items) found.set(item.eventId, item);
	}
	return found;
}
