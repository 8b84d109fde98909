/** Where a delivery can stand (src/routes/admin/delivery-state.ts); apart, so the response schemas need no runtime. */
export const DELIVERY_STATES = ["delivered", "skipped", "dead", "retrying", "held", "queued"] as const;
export type DeliveryStateName = (typeof DELIVERY_STATES)[number];
