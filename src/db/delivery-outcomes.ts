/** What became of a forward attempt: the deliveries table's `outcome` and the admin API's. */
export const DELIVERY_OUTCOMES = ["delivered", "failed", "dead", "skipped", "replayed"] as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];
