import { Hono } from "hono";
import type { AppEnv } from "../http/app-env";
import { MethodNotAllowedError, NotFoundError } from "../http/errors";
import { MediaLinkError } from "../media/media-errors";
import { checkLink } from "../media/media-link";
import { mediaKey } from "../media/media-state";
import { servedType } from "../media/served-type";
import { servingMedia } from "../media/serving-media";

/*
 * GET /media/<messageId>/<index>?exp=&sig=: a copied file, for whoever holds a signed link (the
 * downstream, or the people it shows the picture to). The file came from a stranger's phone and is
 * served from the relay's own origin, which also serves the console: it is sandboxed, never
 * sniffed, and anything but an image, audio or video downloads instead of rendering
 * (served-type.ts).
 */

export const mediaRoute = new Hono<AppEnv>()
	.get("/media/:messageId{[A-Za-z0-9_-]{1,128}}/:index{\\d{1,2}}", async (c) => {
		const { config, bucket } = servingMedia(c.env);
		const key = mediaKey(c.req.param("messageId"), Number(c.req.param("index")));
		const check = await checkLink(config, key, c.req.query("exp"), c.req.query("sig"));
		if (check !== "valid") throw new MediaLinkError(check);
		const object = await bucket.get(key);
		if (object === null) throw new NotFoundError("this media copy is no longer stored");
		const served = servedType(object.httpMetadata?.contentType);
		const headers = new Headers({
			"content-type": served.contentType,
			"content-length": String(object.size),
			etag: object.httpEtag,
			"cache-control": "private, max-age=3600",
			"x-content-type-options": "nosniff",
			"content-security-policy": "sandbox; default-src 'none'",
		});
		if (!served.inline) headers.set("content-disposition", "attachment");
		return new Response(object.body, { headers });
	})
	.all("/media/*", (c) => {
		if (c.req.method !== "GET" && c.req.method !== "HEAD") throw new MethodNotAllowedError(["GET"]);
		throw new NotFoundError("no such media copy");
	});
