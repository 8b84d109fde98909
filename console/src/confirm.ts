import { h } from "./dom";

/**
 * Asks before an action that changes what the relay does (pause, resume, probe, replay): a modal
 * <dialog>, which keeps focus inside it and closes on Escape (a cancel). Resolves true only for
 * the action's own button.
 */
export function confirmAction(question: string, detail: string, action: string): Promise<boolean> {
	const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
	const confirm = h("button", { type: "button", class: "confirm" }, action);
	const title = h("h2", { id: "confirm-title" }, question);
	const dialog = h(
		"dialog",
		{ class: "confirm-dialog", "aria-labelledby": "confirm-title", "aria-describedby": "confirm-detail" },
		title,
		h("p", { id: "confirm-detail" }, detail),
		h("div", { class: "actions" }, confirm, cancel),
	);
	document.body.append(dialog);
	return new Promise((resolve) => {
		let answer = false;
		confirm.addEventListener("click", () => {
			answer = true;
			dialog.close();
		});
		cancel.addEventListener("click", () => dialog.close());
		dialog.addEventListener("close", () => {
			dialog.remove();
			resolve(answer);
		});
		dialog.showModal();
		confirm.focus();
	});
}
