const clientRequestId = /^[A-Za-z0-9._:-]{1,128}$/;

/** Echo a well-formed client `x-request-id`, else mint `req_<ulid>` (SPEC §13.4). */
export function requestIdFrom(header: string | string[] | undefined, mint: () => string): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && clientRequestId.test(value) ? value : mint();
}
