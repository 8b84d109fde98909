import { HttpError } from "../http/errors";

/** A media link whose signature does not match, or that has expired: the same 403, two codes. */
export class MediaLinkError extends HttpError {
	constructor(reason: "bad_signature" | "expired") {
		super(
			403,
			reason === "expired" ? "link_expired" : "invalid_signature",
			reason === "expired"
				? "this media link has expired; ask for a fresh one"
				: "this media link's signature is not valid",
		);
	}
}

/** The deployment has no MEDIA bucket bound: there are no copies. */
export class MediaNotConfiguredError extends HttpError {
	constructor() {
		super(404, "media_not_configured", "this deployment keeps no media copies (MEDIA)");
	}
}
