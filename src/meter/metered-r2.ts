import { bindingCalls } from "./binding-calls";
import { meter } from "./meter";

/*
 * R2 bills operations by class (R2 pricing): Class A for what writes or lists (PutObject,
 * ListObjects, CreateMultipartUpload, UploadPart, CompleteMultipartUpload), Class B for what
 * reads (GetObject, HeadObject); DeleteObject and AbortMultipartUpload are free. A call that
 * throws is not counted.
 */

function stored(object: R2Object | null): void {
	if (object !== null) meter.add("r2BytesWritten", object.size);
}

function meteredUpload(upload: R2MultipartUpload): R2MultipartUpload {
	return {
		key: upload.key,
		uploadId: upload.uploadId,
		async uploadPart(partNumber, value, options) {
			const part = await upload.uploadPart(partNumber, value, options);
			meter.add("r2ClassA");
			return part;
		},
		abort: () => upload.abort(),
		async complete(parts) {
			const object = await upload.complete(parts);
			meter.add("r2ClassA");
			stored(object);
			return object;
		},
	};
}

type R2Value = Parameters<R2Bucket["put"]>[1];

class MeteredR2 implements R2Bucket {
	constructor(private readonly bucket: R2Bucket) {}

	async head(key: string): Promise<R2Object | null> {
		bindingCalls.add("r2.head");
		const object = await this.bucket.head(key);
		meter.add("r2ClassB");
		return object;
	}

	get(
		key: string,
		options: R2GetOptions & { onlyIf: R2Conditional | Headers },
	): Promise<R2ObjectBody | R2Object | null>;
	get(key: string, options?: R2GetOptions): Promise<R2ObjectBody | null>;
	async get(key: string, options?: R2GetOptions): Promise<R2ObjectBody | R2Object | null> {
		bindingCalls.add("r2.get");
		const object = await this.bucket.get(key, options);
		meter.add("r2ClassB");
		return object;
	}

	put(
		key: string,
		value: R2Value,
		options?: R2PutOptions & { onlyIf: R2Conditional | Headers },
	): Promise<R2Object | null>;
	put(key: string, value: R2Value, options?: R2PutOptions): Promise<R2Object>;
	async put(key: string, value: R2Value, options?: R2PutOptions): Promise<R2Object | null> {
		bindingCalls.add("r2.put");
		const object = await this.bucket.put(key, value, options);
		meter.add("r2ClassA");
		stored(object);
		return object;
	}

	async createMultipartUpload(key: string, options?: R2MultipartOptions): Promise<R2MultipartUpload> {
		bindingCalls.add("r2.createMultipartUpload");
		const upload = await this.bucket.createMultipartUpload(key, options);
		meter.add("r2ClassA");
		return meteredUpload(upload);
	}

	resumeMultipartUpload(key: string, uploadId: string): R2MultipartUpload {
		return meteredUpload(this.bucket.resumeMultipartUpload(key, uploadId));
	}

	delete(keys: string | string[]): Promise<void> {
		bindingCalls.add("r2.delete");
		return this.bucket.delete(keys);
	}

	async list(options?: R2ListOptions): Promise<R2Objects> {
		bindingCalls.add("r2.list");
		const objects = await this.bucket.list(options);
		meter.add("r2ClassA");
		return objects;
	}
}

export function meteredR2(bucket: R2Bucket): R2Bucket {
	return new MeteredR2(bucket);
}
