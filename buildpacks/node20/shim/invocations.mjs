// The platform's log records around each invocation: START, END, REPORT (the first with Init Duration), timeouts.
import { output } from './output.mjs';
import { loadFunction } from './handler.mjs';
import { functionVersion, memoryMb, timeoutMs } from './settings.mjs';

// Every load, a classic start's or a cell's init, goes through here: each invocation then gets AWS Lambda's
// START, END and REPORT lines, and the first one the Init Duration.
export async function loadHandler() {
  output.dialNow();
  const began = performance.now();
  const handler = await loadFunction();
  return invocations(handler, performance.now() - began);
}

function invocations(handler, initMs) {
  const version = functionVersion;
  const memory = memoryMb;
  const limitMs = timeoutMs;
  let coldInit = initMs;
  // Reading the RSS costs a system call: at most every 100 ms, so a busy instance does not pay it per request.
  let maxRss = process.memoryUsage.rss();
  let sampledAt = Date.now();
  const maxMemoryMb = () => {
    const now = Date.now();
    if (now - sampledAt >= 100) {
      sampledAt = now;
      maxRss = Math.max(maxRss, process.memoryUsage.rss());
    }
    return Math.ceil(maxRss / 1048576);
  };
  output.loaded();
  return (event, context) => {
    const id = context.awsRequestId;
    const started = performance.now();
    const init = coldInit;
    coldInit = undefined;
    output.record('p', `START RequestId: ${id} Version: ${version}`);
    let finished = false;
    const finish = (status) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      const duration = performance.now() - started;
      const initText = init === undefined ? '' : `\tInit Duration: ${init.toFixed(2)} ms`;
      output.record('p', `END RequestId: ${id}`);
      output.record('p', `REPORT RequestId: ${id}\tDuration: ${duration.toFixed(2)} ms\tBilled Duration: ${Math.max(1, Math.ceil(duration))} ms\tMemory Size: ${memory} MB\tMax Memory Used: ${maxMemoryMb()} MB${initText}\tStatus: ${status}`);
    };
    // The host replaces the instance at the same moment: say why, and send it before that happens.
    const timer = setTimeout(() => {
      output.record('p', `${new Date().toISOString()} ${id} Task timed out after ${(limitMs / 1000).toFixed(2)} seconds`);
      finish('timeout');
      output.flush();
    }, limitMs);
    // An error's END and REPORT come after the shim has logged the error itself, as in AWS Lambda.
    const failed = (error) => {
      process.nextTick(finish, 'error');
      throw error;
    };
    let result;
    try {
      result = handler(event, context);
    } catch (error) {
      failed(error);
    }
    return Promise.resolve(result).then((value) => {
      finish('success');
      return value;
    }, failed);
  };
}
