import { meter } from "./meter";

/*
 * Workers Analytics Engine bills every writeDataPoint call as one data point (Analytics Engine
 * pricing), whatever it holds. A call that throws is not counted.
 */
export function meteredAnalytics(dataset: AnalyticsEngineDataset): AnalyticsEngineDataset {
	return {
		writeDataPoint(point) {
			dataset.writeDataPoint(point);
			meter.add("aeDataPoints");
		},
	};
}
