import { Hono } from "hono";
import { adminAuth } from "../../http/admin-auth";
import type { AppEnv } from "../../http/app-env";
import { archiveRoute } from "./archive.route";
import { deliveriesRoute } from "./deliveries.route";
import { destinationsRoute } from "./destinations.route";
import { eraseRoute } from "./erase.route";
import { eventsRoute } from "./events.route";
import { insightsRoute } from "./insights.route";
import { mediaAdminRoute } from "./media.route";
import { messagesRoute } from "./messages.route";
import { meterRoute } from "./meter.route";
import { openApiRoute } from "./openapi.route";
import { quarantineRoute } from "./quarantine.route";
import { replayRoute } from "./replay.route";
import { statsRoute } from "./stats.route";

/** Mounted at /v1. The auth runs for every path below it, unknown ones included. */
export const adminRoute = new Hono<AppEnv>()
	.use("*", adminAuth)
	.route("/", eraseRoute)
	.route("/", messagesRoute)
	.route("/", eventsRoute)
	.route("/", quarantineRoute)
	.route("/", deliveriesRoute)
	.route("/", destinationsRoute)
	.route("/", replayRoute)
	.route("/", statsRoute)
	.route("/", insightsRoute)
	.route("/", archiveRoute)
	.route("/", meterRoute)
	.route("/", mediaAdminRoute)
	.route("/", openApiRoute);
