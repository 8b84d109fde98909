import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import worker from "../../src/index";

/** The Worker as a deployment with some vars changed would run it. */
export async function fetchWithVars(vars: Partial<Record<keyof Env, string>>, request: Request): Promise<Response> {
	return worker.fetch(request, { ...env, ...vars } as Env, createExecutionContext());
}

/** Asserts the documented error shape, `{"error":{"code","message"}}`, and returns the message. */
export async function expectError(response: Response, status: number, code: string): Promise<string> {
	expect(response.status).toBe(status);
	expect(response.headers.get("content-type")).toContain("application/json");
	const body = await response.json<{ error: { code: string; message: string } }>();
	expect(body.error.code).toBe(code);
	expect(body.error.message).toEqual(expect.any(String));
	return body.error.message;
}
