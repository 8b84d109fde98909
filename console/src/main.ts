import { ApiError, adminToken, checkToken, whenUnauthorized } from "./api";
import { errorBox, field, h, heading, showError } from "./dom";
import { deadLettersPage } from "./pages/dead-letters";
import { destinationsPage } from "./pages/destinations";
import { eventsPage } from "./pages/events";
import { insightsPage } from "./pages/insights";
import { messagePage } from "./pages/message";
import { overviewPage } from "./pages/overview";
import { quarantinePage } from "./pages/quarantine";

/*
 * Hash routing (#/overview, #/destinations, #/insights?…, #/message/<id>, #/events?…, #/dead?…,
 * #/quarantine): the assets are static files, so every page is the one index.html. The hash never
 * holds the token.
 */

const PAGES = [
	{ path: "overview", title: "Overview" },
	{ path: "destinations", title: "Destinations" },
	{ path: "insights", title: "Insights" },
	{ path: "message", title: "Message" },
	{ path: "events", title: "Events" },
	{ path: "dead", title: "Dead letters" },
	{ path: "quarantine", title: "Quarantine" },
] as const;
type PagePath = (typeof PAGES)[number]["path"];

const root = document.getElementById("app") as HTMLElement;
let signInNotice = "";

function route(): { path: PagePath; rest: string | undefined; params: URLSearchParams } {
	const [pathPart = "", search = ""] = location.hash.replace(/^#\/?/, "").split("?", 2);
	const [first = "", ...rest] = pathPart.split("/");
	const path = PAGES.find((page) => page.path === first)?.path ?? "overview";
	const tail = rest.join("/");
	return { path, rest: tail === "" ? undefined : decodeURIComponent(tail), params: new URLSearchParams(search) };
}

function signIn(): void {
	const error = errorBox();
	const form = h(
		"form",
		// POST and CSP form-action 'none': were the script to fail, the browser would not put the token in a URL.
		{ class: "sign-in", method: "post", "aria-labelledby": "sign-in-heading" },
		field("Admin token", "token", "", { type: "password", required: true, autocomplete: "current-password" }),
		h("button", { type: "submit" }, "Sign in"),
		h(
			"p",
			{ class: "muted" },
			"The ADMIN_TOKEN. It is kept in this tab's session storage only, and sent to the admin API in the Authorization header.",
		),
	);
	const title = heading("Sign in");
	title.id = "sign-in-heading";
	if (signInNotice !== "") showError(error, signInNotice);
	signInNotice = "";
	form.addEventListener("submit", async (event) => {
		event.preventDefault();
		const input = form.elements.namedItem("token") as HTMLInputElement;
		const token = input.value.trim();
		if (token === "") return;
		const button = form.querySelector("button") as HTMLButtonElement;
		button.disabled = true;
		error.hidden = true;
		try {
			await checkToken(token);
			adminToken.set(token);
			input.value = "";
			render();
		} catch (caught) {
			const message =
				caught instanceof ApiError && caught.status === 401
					? "That token was refused."
					: caught instanceof ApiError && caught.status === 404
						? "The admin API is off: ADMIN_TOKEN is not set on this relay."
						: caught;
			showError(error, message);
			input.select();
		} finally {
			button.disabled = false;
		}
	});
	document.title = "Sign in · bandwidth-relay";
	root.replaceChildren(
		h("header", { class: "top" }, h("span", { class: "brand" }, "bandwidth-relay")),
		h("main", { id: "main", class: "narrow" }, title, error, form),
	);
	(form.elements.namedItem("token") as HTMLInputElement).focus();
}

function signOut(notice = ""): void {
	adminToken.clear();
	signInNotice = notice;
	render();
}

function shell(current: PagePath): HTMLElement {
	const main = h("main", { id: "main" });
	const links = PAGES.map((page) =>
		h(
			"li",
			{},
			h("a", { href: `#/${page.path}`, "aria-current": page.path === current ? "page" : undefined }, page.title),
		),
	);
	const out = h("button", { type: "button", class: "secondary" }, "Sign out");
	out.addEventListener("click", () => signOut());
	root.replaceChildren(
		h("a", { href: "#main", class: "skip" }, "Skip to content"),
		h(
			"header",
			{ class: "top" },
			h("span", { class: "brand" }, "bandwidth-relay"),
			h("nav", { "aria-label": "Console" }, h("ul", {}, ...links)),
			out,
		),
		main,
	);
	return main;
}

let rendering = 0;

async function render(): Promise<void> {
	if (adminToken.get() === null) {
		signIn();
		return;
	}
	const { path, rest, params } = route();
	const page = PAGES.find((entry) => entry.path === path);
	document.title = `${page?.title ?? ""} · bandwidth-relay`;
	const main = shell(path);
	const generation = ++rendering;
	main.setAttribute("aria-busy", "true");
	const done = (async () => {
		switch (path) {
			case "overview":
				return overviewPage(main);
			case "destinations":
				return destinationsPage(main);
			case "message":
				return messagePage(main, rest);
			case "events":
				return eventsPage(main, params);
			case "dead":
				return deadLettersPage(main, params);
			case "quarantine":
				return quarantinePage(main);
			case "insights":
				return insightsPage(main, params);
		}
	})();
	// The heading takes focus, so a keyboard or screen reader user lands on the new page, not the old link.
	main.querySelector("h1")?.focus();
	const loading = h("p", { class: "muted loading" }, "Loading…");
	main.append(loading);
	await done;
	if (generation === rendering) loading.remove();
	main.setAttribute("aria-busy", "false");
}

whenUnauthorized(() => signOut("The token was refused; sign in again."));
window.addEventListener("hashchange", () => void render());
void render();
