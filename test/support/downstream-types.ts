/** Shared by the downstream server (Node) and the tests that read it (workerd). */
export interface RecordedRequest {
	path: string;
	method: string;
	headers: Record<string, string>;
	body: string;
	at: number;
}

export interface ScriptedResponse {
	status: number;
	headers?: Record<string, string>;
	body?: string;
	delayMs?: number;
	/** false keeps the request's record without its body, for large events a test need not read. */
	recordBody?: boolean;
	/**
	 * In place of `body`: this many bytes of "x", sent chunked (no Content-Length) as fast as the
	 * client reads them; a client that stops reading and closes is counted in `aborted`.
	 */
	streamBytes?: number;
	/** After `streamBytes`, the answer stays open (no end) this long, or until the client closes. */
	holdOpenMs?: number;
}

/** What one path of the downstream has seen, from `GET /__stats?path=`. */
export interface DownstreamStats {
	requests: number;
	/** Requests open now: arrived, and not yet answered or abandoned. */
	inFlight: number;
	peakInFlight: number;
	/** Body bytes of the open requests, counted as they arrive. */
	bytesInFlight: number;
	peakBytesInFlight: number;
	/** Requests the client gave up on (closed the connection) before their answer was sent. */
	aborted: number;
}
