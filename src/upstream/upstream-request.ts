/** A fully built upstream call: providers build it, only upstream/ sends it. */
export interface UpstreamRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: string;
}
