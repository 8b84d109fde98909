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
}
