// The gate between image builds and image removals on one engine: builds share it, a removal holds it alone.
//
// The classic builder looks for each step's cache among the children of the step's parent image, and fails the whole
// build (`unable to find image "sha256:…"`) when one of those children disappears while it reads them. Every node20
// or python3 image shares its first steps, so removing any function's old image (and the untagged parents Docker
// removes with it) can break a build of any other. A removal therefore waits until no build runs, and a build
// starting during a removal waits for it to end. A removal that is only waiting holds back no build: builds may run
// for minutes, removals take moments, and pruning can wait for a quiet moment. But not for ever: a build may run
// for its whole time limit (a hostile one will), and a deploy, a delete or a failed deploy's cleanup waiting on it
// would hang its caller. After `maxWaitMs` a removal goes ahead beside the builds; the rare build that then loses
// its cache lookup is built again (images.ts).
import type Docker from 'dockerode';

export interface ImageGate {
  /** Runs `work` (a build) beside other builds; waits while a removal runs. */
  build<T>(work: () => Promise<T>): Promise<T>;
  /** Runs `work` (a removal) once no build and no other removal runs, or once it waited `maxWaitMs` for builds. */
  remove<T>(work: () => Promise<T>): Promise<T>;
  /** Builds running, whether a removal runs, and the removals and builds waiting. */
  state(): { building: number; removing: boolean; removalsWaiting: number; buildsWaiting: number };
}

/** How long a removal waits for the builds in flight before it goes ahead. */
export const REMOVAL_WAIT_MS = 10_000;

export function createImageGate(maxWaitMs = REMOVAL_WAIT_MS): ImageGate {
  let building = 0;
  let removing = false;
  const buildsWaiting: (() => void)[] = [];
  /** Removals in arrival order; an overdue one has waited `maxWaitMs` and no longer waits for builds. */
  const removalsWaiting: { go: () => void; overdue: boolean }[] = [];

  // Whoever is let in is counted at once, before its code resumes: a call made in between sees the gate as taken.
  const next = () => {
    if (removing) return;
    const overdue = removalsWaiting.findIndex((removal) => removal.overdue);
    if (overdue >= 0) {
      removing = true;
      removalsWaiting.splice(overdue, 1)[0].go();
      return;
    }
    if (buildsWaiting.length > 0) {
      const admitted = buildsWaiting.splice(0);
      building += admitted.length;
      for (const go of admitted) go();
      return;
    }
    const removal = building === 0 ? removalsWaiting.shift() : undefined;
    if (removal) {
      removing = true;
      removal.go();
    }
  };

  return {
    async build(work) {
      if (removing) await new Promise<void>((resolve) => buildsWaiting.push(resolve));
      else building += 1;
      try {
        return await work();
      } finally {
        building -= 1;
        next();
      }
    },

    async remove(work) {
      if (removing || building > 0) {
        await new Promise<void>((resolve) => {
          const removal = { go: () => (clearTimeout(timer), resolve()), overdue: false };
          // Waited long enough for builds: it goes next, beside them (after a removal already running, if one is).
          const timer = setTimeout(() => {
            removal.overdue = true;
            next();
          }, maxWaitMs);
          timer.unref();
          removalsWaiting.push(removal);
        });
      } else removing = true;
      try {
        return await work();
      } finally {
        removing = false;
        next();
      }
    },

    state: () => ({ building, removing, removalsWaiting: removalsWaiting.length, buildsWaiting: buildsWaiting.length }),
  };
}

const gates = new WeakMap<Docker, ImageGate>();

/** The one gate of the engine `docker` reaches: every module building or removing images through it shares it. */
export function imageGateOf(docker: Docker): ImageGate {
  let gate = gates.get(docker);
  if (!gate) {
    gate = createImageGate();
    gates.set(docker, gate);
  }
  return gate;
}
