import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { StatefulSet } from "kubernetes-models/apps/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { PersistentVolumeClaim, Service } from "kubernetes-models/v1";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { loadConfig } from "../gpu-service/config.ts";
import { createMetrics } from "../gpu-service/metrics.ts";
import { ROOT } from "../processes/index.ts";

const DIR = join(ROOT, "deploy/kubernetes");

/** The Kubernetes schemas (kubernetes-models) of each kind the manifests use. */
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  "v1/Service": Service,
  "v1/PersistentVolumeClaim": PersistentVolumeClaim,
  "apps/v1/StatefulSet": StatefulSet,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
};

type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; spec: any };

const manifests: (Manifest & { file: string })[] = readdirSync(DIR)
  .filter((file) => file.endsWith(".yaml"))
  .flatMap((file) =>
    parseAllDocuments(readFileSync(join(DIR, file), "utf8")).map((document) => {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]!.message}`);
      return { ...(document.toJS() as Manifest), file };
    }),
  );
const find = (kind: string, name?: string) => {
  const found = manifests.filter((each) => each.kind === kind && (name === undefined || each.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name ?? ""}, found ${found.length}`);
  return found[0]!;
};

const statefulSet = find("StatefulSet");
const pod = statefulSet.spec.template;
const container = pod.spec.containers[0];
const env = Object.fromEntries(container.env.filter((each: any) => "value" in each).map((each: any) => [each.name, each.value]));
const portNamed = (name: string) => container.ports.find((port: any) => port.name === name)?.containerPort;

describe("Kubernetes manifests (deploy/kubernetes)", () => {
  it("every document is valid against the Kubernetes schema of its kind", () => {
    expect(manifests.length).toBeGreaterThan(0);
    for (const manifest of manifests) {
      const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
      if (!Model) throw new Error(`${manifest.file}: no schema for ${manifest.apiVersion} ${manifest.kind}`);
      const { file: _, ...document } = manifest;
      expect(() => new Model(document).validate(), `${manifest.file}: ${manifest.kind} ${manifest.metadata.name}`).not.toThrow();
    }
  });

  it("the schemas catch a wrong type (the check above can fail)", () => {
    const { file: _, ...document } = statefulSet;
    const broken = structuredClone(document);
    broken.spec.template.spec.containers[0].ports[0].containerPort = "8600";
    expect(() => new StatefulSet(broken).validate()).toThrow(/containerPort must be integer/);
  });

  it("configures the GPU service with settings it accepts, its secret from a Secret", () => {
    const secretRef = container.env.find((each: any) => each.name === "GPU_SERVICE_SECRET");
    expect(secretRef.valueFrom.secretKeyRef).toEqual({ name: expect.any(String), key: expect.any(String) });
    expect(secretRef.value).toBeUndefined();
    const config = loadConfig({ ...env, GPU_SERVICE_SECRET: "a-secret-of-sixteen-characters" });
    expect(config.host).toBe("0.0.0.0");
    expect(portNamed("http")).toBe(config.port);
    expect(portNamed("grpc")).toBe(config.grpcPort);
    expect(container.resources.limits["nvidia.com/gpu"]).toBe(1);
  });

  it("mounts the model read-only where MODEL_DIR points", () => {
    const mount = container.volumeMounts.find((each: any) => each.mountPath === env.MODEL_DIR);
    expect(mount.readOnly).toBe(true);
    const volume = pod.spec.volumes.find((each: any) => each.name === mount.name);
    expect(volume.persistentVolumeClaim.readOnly).toBe(true);
    const claim = find("PersistentVolumeClaim", volume.persistentVolumeClaim.claimName);
    expect(claim.spec.accessModes).toEqual(["ReadOnlyMany"]);
  });

  it("gives a draining replica its whole grace before Kubernetes kills it", () => {
    const graceMs = loadConfig({ ...env, GPU_SERVICE_SECRET: "a-secret-of-sixteen-characters" }).shutdownGraceMs;
    expect(pod.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(graceMs);
  });

  it("takes a replica into traffic only while it serves, and probes the service's own port", () => {
    expect(container.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "http" });
    expect(container.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
    expect(container.startupProbe.httpGet.port).toBe("http");
  });

  it("disrupts one replica at a time and scales the StatefulSet on a metric the service exports", async () => {
    const selector = statefulSet.spec.selector.matchLabels;
    expect(pod.metadata.labels).toMatchObject(selector);
    expect(find("PodDisruptionBudget").spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: selector } });
    const hpa = find("HorizontalPodAutoscaler").spec;
    expect(hpa.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "StatefulSet", name: statefulSet.metadata.name });
    const metric = hpa.metrics[0].pods.metric.name;
    const metrics = createMetrics({
      queued: () => 0,
      active: () => 0,
      encoderCache: () => undefined,
      visionRuns: () => undefined,
      prefixCache: () => undefined,
      kvCacheBytes: () => 0,
    });
    expect(await metrics.registry.metrics()).toContain(`\n${metric} `);
  });

  it("gives every replica the autoscaler may run its own Service, on the replica's pod", () => {
    const { maxReplicas } = find("HorizontalPodAutoscaler").spec;
    for (let ordinal = 0; ordinal < maxReplicas; ordinal++) {
      const name = `${statefulSet.metadata.name}-${ordinal}`;
      const service = find("Service", name);
      expect(service.spec.selector).toEqual({ "statefulset.kubernetes.io/pod-name": name });
      expect(service.spec.ports[0].targetPort).toBe("http");
    }
    const headless = find("Service", statefulSet.spec.serviceName);
    expect(headless.spec.clusterIP).toBe("None");
  });
});
