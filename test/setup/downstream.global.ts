import type { TestProject } from "vitest/node";
import { startDownstream } from "../support/downstream-server";
import { TEST_ENV } from "./test-env";

/** A real HTTP server standing in for the customer's endpoint, shared by every test file. */
export default async function setup(project: TestProject) {
	const server = await startDownstream(0, {
		clientId: TEST_ENV.BANDWIDTH_CLIENT_ID,
		clientSecret: TEST_ENV.BANDWIDTH_CLIENT_SECRET,
	});
	project.provide("downstreamPort", server.port);
	return () => server.close();
}
