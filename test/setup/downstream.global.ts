import type { TestProject } from "vitest/node";
import { startDownstream } from "../support/downstream-server";

/** A real HTTP server standing in for the customer's endpoint, shared by every test file. */
export default async function setup(project: TestProject) {
	const server = await startDownstream();
	project.provide("downstreamPort", server.port);
	return () => server.close();
}
