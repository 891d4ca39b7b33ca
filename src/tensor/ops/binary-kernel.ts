/**
 * Same-length float32 add and multiply go to the backend's kernels (native: threaded, vectorised)
 * from this many elements; below it one N-API call costs more than the JavaScript loop. Both paths
 * give the same float32 values (a float32 sum or product rounded from double is the correctly
 * rounded float32 result), so the threshold never changes a result.
 */
export const BACKEND_MIN_ELEMENTS = 4096;
