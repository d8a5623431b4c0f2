/**
 * Reading the Kubernetes manifests of k8s/ the way `kubectl apply -k` would see them: rendered
 * offline by `kubectl kustomize` (no cluster needed) and parsed into plain objects, one per YAML
 * document.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

const execFileAsync = promisify(execFile);

/** A rendered overlay is a few dozen KB; this only guards against a runaway render. */
const MAX_RENDER_BYTES = 16 * 1024 * 1024;

/**
 * One Kubernetes object as parsed from YAML: only the type and the name are known to be there.
 * Narrow it with a kubernetes-models guard (`Deployment.is(o)`) to read the rest.
 */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

/** What `kubectl kustomize` produced for one directory. */
export interface Render {
  readonly objects: KubeObject[];
  /** kustomize's stderr: deprecation warnings and the like; empty when all is well. */
  readonly warnings: string;
}

/**
 * Renders a kustomization directory with `kubectl kustomize`, offline.
 *
 * @param dir - Directory holding a kustomization.yaml.
 * @returns Every object of the render, in kustomize's order, and its warnings.
 * @throws Error saying how to get kubectl when it is not on PATH, or carrying kustomize's
 *   message when the render fails.
 */
export async function kustomize(dir: string): Promise<Render> {
  let stdout: string;
  let stderr: string;
  try {
    ({ stdout, stderr } = await execFileAsync('kubectl', ['kustomize', dir], {
      maxBuffer: MAX_RENDER_BYTES,
      encoding: 'utf8',
    }));
  } catch (err) {
    if (isErrno(err) && err.code === 'ENOENT') {
      throw new Error(
        'kubectl is not installed or not on PATH. The k8s manifest checks render k8s/ with ' +
          '`kubectl kustomize` (offline, no cluster needed): install kubectl 1.27 or later ' +
          '(https://kubernetes.io/docs/tasks/tools/) and run the tests again.',
        { cause: err },
      );
    }
    const detail = hasStderr(err) ? err.stderr.trim() : String(err);
    throw new Error(`kubectl kustomize ${dir} failed: ${detail}`, { cause: err });
  }
  return { objects: parseManifests(stdout, dir), warnings: stderr.trim() };
}

/**
 * Reads a plain manifest file (no kustomize), e.g. one of k8s/examples/.
 *
 * @param file - Path of a YAML file with one or more documents.
 */
export async function readManifests(file: string): Promise<KubeObject[]> {
  return parseManifests(await readFile(file, 'utf8'), file);
}

/**
 * Parses multi-document YAML into Kubernetes objects; empty documents are skipped.
 *
 * @param text - The YAML text.
 * @param source - Where it came from, for error messages.
 * @throws Error on a YAML syntax error or a document that is not a named Kubernetes object.
 */
export function parseManifests(text: string, source: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const [index, doc] of parseAllDocuments(text).entries()) {
    const [error] = doc.errors;
    if (error !== undefined) throw new Error(`${source}, document ${index + 1}: ${error.message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (!isKubeObject(value)) {
      throw new Error(
        `${source}, document ${index + 1} is not a Kubernetes object (needs apiVersion, kind and metadata.name)`,
      );
    }
    objects.push(value);
  }
  return objects;
}

function isKubeObject(value: unknown): value is KubeObject {
  if (!isRecord(value)) return false;
  const { apiVersion, kind, metadata } = value;
  return (
    typeof apiVersion === 'string' &&
    typeof kind === 'string' &&
    isRecord(metadata) &&
    typeof metadata['name'] === 'string'
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isErrno(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && 'code' in err;
}

function hasStderr(err: unknown): err is Error & { stderr: string } {
  return err instanceof Error && 'stderr' in err && typeof err.stderr === 'string';
}
