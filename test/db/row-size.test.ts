import { expect, it } from "vitest";
import { MAX_ROW_BYTES, oversizedRow, rowBytes } from "../../src/db/row-size";

it("counts every column of a row, in UTF-8, not just the largest", () => {
	const row = {
		id: "evt_x",
		from_number: "5".repeat(700_000),
		normalized_json: "x".repeat(1_200_000),
		error_code: 4432,
	};
	expect(oversizedRow({ ...row, from_number: null })).toBeNull();
	expect(oversizedRow(row)).toBe(rowBytes(row));
	expect(rowBytes(row)).toBeGreaterThan(MAX_ROW_BYTES);
	expect(rowBytes({ text: "é😀" })).toBe(9 + 2 + 4);
});
