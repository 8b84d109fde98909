import { Hono } from "hono";
import * as v from "valibot";
import type { AppEnv } from "../../http/app-env";
import { MethodNotAllowedError, NotFoundError } from "../../http/errors";
import { mediaCopiesOf } from "../../media/media-copies";
import { servingMedia } from "../../media/serving-media";
import { parseInput, TextParam } from "./params";

export const MediaParamsSchema = v.object({ messageId: TextParam });

/** A message's media copies, with links minted now (valid MEDIA_URL_TTL_HOURS). */
export const mediaAdminRoute = new Hono<AppEnv>()
	.get("/media/:messageId", async (c) => {
		const { messageId } = parseInput(MediaParamsSchema, c.req.param(), "path");
		const { config } = servingMedia(c.env);
		const state = await c.env.MEDIA_COPIER.getByName(messageId).view();
		if (state === null) throw new NotFoundError("no media copies are kept for this message id");
		// The console's own origin when PUBLIC_URL is unset and the callback's was not recorded.
		const withOrigin = { ...state, origin: state.origin ?? new URL(c.req.url).origin };
		return c.json({ messageId, items: await mediaCopiesOf(withOrigin, config) });
	})
	.all("/media/:messageId", () => {
		throw new MethodNotAllowedError(["GET"]);
	});
