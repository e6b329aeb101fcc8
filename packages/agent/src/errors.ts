// The agent's error vocabulary in one place: describe anything thrown with errorMessage(e) (never a cast), and
// API failures carry their operation and HTTP status (KubeApiError, from the shared runtime).
export { errorMessage, httpStatus, KubeApiError } from '@wirekube/kube-runtime';
