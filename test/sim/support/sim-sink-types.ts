/** Shared by the simulation's sink (Node) and the harness that reads it (workerd). */

/** How a destination answers from now on, until told otherwise. */
export interface SinkMode {
	status: number;
	/** Held this long before answering: past FORWARD_TIMEOUT_MS the relay gives up on it. */
	delayMs?: number;
}

export interface SinkRecord {
	path: string;
	/** The webhook-id header: the event id. */
	eventId: string;
	/** The answer the sink chose (sent unless the relay gave up first). */
	status: number;
	delayMs: number;
	/** The relay closed the connection before the answer went. */
	aborted: boolean;
	/** Real time of arrival. */
	at: number;
}
