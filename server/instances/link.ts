// The host end of an instance's connections. The host creates and owns the socket, in a folder the function
// can only read; the shim inside the container dials in and serves HTTP on each connection. Nothing a function
// does can change what the host connects to: the host never connects anywhere, it only accepts.
import fs from 'node:fs';
import net from 'node:net';
import { InstanceFailure } from './requests/failure.js';

/** Dialled-in connections kept waiting at most; more are refused, so a function cannot pile up the host's descriptors. */
const MAX_IDLE = 64;

/** The instance is gone: the dispatcher knows a request that got this never reached a handler. */
function refused(message: string): InstanceFailure {
  return new InstanceFailure('unreachable', message);
}

export class InstanceLink {
  private readonly server: net.Server;
  private readonly idle: net.Socket[] = [];
  private readonly waiting: { resolve: (socket: net.Socket) => void; reject: (error: Error) => void }[] = [];
  /** How each idle socket leaves the idle list on its own (closed by the shim); removed when it is handed over. */
  private readonly dropHandlers = new WeakMap<net.Socket, () => void>();
  private dead: string | undefined;

  constructor(readonly socketPath: string) {
    fs.rmSync(socketPath, { force: true });
    this.server = net.createServer((socket) => this.accept(socket));
    // Binding a Unix socket happens inside listen(), so the file exists (and is ours) when this returns.
    this.server.listen(socketPath);
    this.server.on('error', (error) => this.fail(`the instance socket failed: ${error.message}`));
    // The function's user must be able to connect; the folder (read-only in the container, private on the host) guards it.
    fs.chmodSync(socketPath, 0o666);
  }

  /** An idle connection from the shim; waits for one when none is ready. Rejects with an `unreachable` InstanceFailure once the instance is gone. */
  take(): Promise<net.Socket> {
    if (this.dead) return Promise.reject(refused(this.dead));
    const socket = this.idle.pop();
    if (socket) return Promise.resolve(this.handOver(socket));
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** Resolves true when the shim has dialled in within `timeoutMs`, false otherwise (or once the link fails). */
  async ready(timeoutMs: number): Promise<boolean> {
    if (this.idle.length > 0) return true;
    if (this.dead) return false;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.server.off('connection', onConnection);
        resolve(false);
      }, timeoutMs);
      const onConnection = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.server.once('connection', onConnection);
    });
  }

  /**
   * A connection the instance dialled another way than this socket (over the swarm's link, its dial-in line already
   * checked): served as one dialled here.
   */
  adopt(socket: net.Socket): void {
    // The check left it paused (a paused stream stays so when a 'data' listener comes): whoever reads it with one
    // starts it again, as a fresh connection would start.
    if (socket.isPaused()) {
      const onListener = (event: string | symbol): void => {
        if (event !== 'data') return;
        socket.off('newListener', onListener);
        process.nextTick(() => socket.resume());
      };
      socket.on('newListener', onListener);
    }
    this.server.emit('connection', socket);
  }

  /** The instance is gone (its container exited): fail whoever waits, and every later take(). */
  fail(reason: string): void {
    if (this.dead) return;
    this.dead = reason;
    for (const waiter of this.waiting.splice(0)) waiter.reject(refused(reason));
  }

  /** Stops accepting, drops idle connections and removes the socket file. */
  close(): void {
    this.fail('the instance was stopped');
    this.server.close();
    for (const socket of this.idle.splice(0)) socket.destroy();
    fs.rmSync(this.socketPath, { force: true });
  }

  private accept(socket: net.Socket): void {
    if (this.dead) {
      socket.destroy();
      return;
    }
    const waiter = this.waiting.shift();
    if (waiter) {
      waiter.resolve(this.handOver(socket));
      return;
    }
    if (this.idle.length >= MAX_IDLE) {
      socket.destroy();
      return;
    }
    this.idle.push(socket);
    const drop = () => {
      const index = this.idle.indexOf(socket);
      if (index >= 0) this.idle.splice(index, 1);
    };
    socket.once('close', drop);
    socket.on('error', drop);
    this.dropHandlers.set(socket, drop);
  }

  private handOver(socket: net.Socket): net.Socket {
    const drop = this.dropHandlers.get(socket);
    if (drop) {
      socket.off('close', drop);
      socket.off('error', drop);
      this.dropHandlers.delete(socket);
    }
    return socket;
  }
}
