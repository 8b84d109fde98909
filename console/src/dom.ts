/*
 * Elements are built with createElement and text nodes only, never from HTML strings: every value
 * the API returns (a quarantined element, a downstream's error text) is shown as text.
 */

export type Child = Node | string | number | null | undefined | false;
type Attribute = string | number | boolean | undefined | ((event: Event) => void);

export function h<TTag extends keyof HTMLElementTagNameMap>(
	tag: TTag,
	attributes: Record<string, Attribute> = {},
	...children: Child[]
): HTMLElementTagNameMap[TTag] {
	const element = document.createElement(tag);
	for (const [name, value] of Object.entries(attributes)) {
		if (value === undefined || value === false) continue;
		if (typeof value === "function") element.addEventListener(name.slice(2), value);
		else element.setAttribute(name, value === true ? "" : String(value));
	}
	append(element, children);
	return element;
}

export function append(parent: Element, children: readonly Child[]): void {
	for (const child of children) {
		if (child === null || child === undefined || child === false) continue;
		parent.append(typeof child === "number" ? String(child) : child);
	}
}

/**
 * A table in a scrollable region. Each cell carries its column's name (data-label): below 40rem the
 * stylesheet shows every row as a labelled block, so 375 px reads without scrolling sideways.
 */
export function table(label: string, headers: readonly string[], rows: readonly (readonly Child[])[]): HTMLElement {
	const body = h("tbody");
	const region = h(
		"div",
		// Two or three columns fit a phone as they are.
		{ class: headers.length > 3 ? "scroll" : "scroll compact", role: "region", "aria-label": label, tabindex: 0 },
		h(
			"table",
			{},
			h("caption", {}, label),
			h("thead", {}, h("tr", {}, ...headers.map((text) => h("th", { scope: "col" }, text)))),
			body,
		),
	);
	appendRows(body, rows);
	return region;
}

export function appendRows(body: HTMLTableSectionElement, rows: readonly (readonly Child[])[]): void {
	const labels = Array.from(body.closest("table")?.querySelectorAll("thead th") ?? [], (th) => th.textContent ?? "");
	for (const row of rows) {
		body.append(h("tr", {}, ...row.map((cell, column) => h("td", { "data-label": labels[column] }, cell))));
	}
}

/** A labelled text input: the label is a real <label for>, so a click or a screen reader finds it. */
export function field(label: string, name: string, value = "", extra: Record<string, Attribute> = {}): HTMLElement {
	const id = `field-${name}`;
	return h(
		"div",
		{ class: "field" },
		h("label", { for: id }, label),
		h("input", { id, name, value, autocomplete: "off", spellcheck: "false", ...extra }),
	);
}

export function select(label: string, name: string, options: readonly string[], value = ""): HTMLElement {
	const id = `field-${name}`;
	const control = h("select", { id, name }, h("option", { value: "" }, "any"));
	for (const option of options) control.append(h("option", { value: option, selected: option === value }, option));
	return h("div", { class: "field" }, h("label", { for: id }, label), control);
}

export function heading(text: string): HTMLHeadingElement {
	// Focused after each navigation (tabindex -1: focusable by script, not a tab stop).
	return h("h1", { tabindex: -1 }, text);
}

export function code(text: string | number | null | undefined): HTMLElement | string {
	return text === null || text === undefined || text === "" ? "—" : h("code", {}, String(text));
}

/** A status message read out by screen readers when it changes. */
export function liveStatus(): HTMLParagraphElement {
	return h("p", { class: "status", role: "status", "aria-live": "polite" });
}

export function errorBox(): HTMLParagraphElement {
	return h("p", { class: "error", role: "alert", hidden: true });
}

export function showError(box: HTMLElement, error: unknown): void {
	box.hidden = false;
	box.textContent = error instanceof Error ? error.message : String(error);
}

export function formatBytes(bytes: number): string {
	if (bytes < 1024) return `${bytes} B`;
	const units = ["KB", "MB", "GB", "TB"];
	let value = bytes / 1024;
	let unit = 0;
	while (value >= 1024 && unit < units.length - 1) {
		value /= 1024;
		unit += 1;
	}
	return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function formatTime(iso: string | null | undefined): HTMLElement | string {
	if (!iso) return "—";
	return h("time", { datetime: iso }, iso.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC"));
}
