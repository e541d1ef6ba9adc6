// Tests of bin/lambda.js and bin/lambda (the command on PATH): before a build they say what to run; after, they pass the exit status through.
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import anyTest, { type TestFn } from 'ava';

const test = anyTest as TestFn<{ root: string }>;
const BIN = fileURLToPath(new URL('../bin/lambda.js', import.meta.url));
const LAUNCHER = fileURLToPath(new URL('../bin/lambda', import.meta.url));

test.beforeEach(async (t) => {
  // A checkout laid out as bin/lambda.js expects: bin/ beside dist/, which each test makes or not.
  t.context.root = await mkdtemp(join(tmpdir(), 'lambda-bin-'));
  await mkdir(join(t.context.root, 'bin'));
  await copyFile(BIN, join(t.context.root, 'bin', 'lambda.js'));
  await copyFile(LAUNCHER, join(t.context.root, 'bin', 'lambda'));
  await chmod(join(t.context.root, 'bin', 'lambda'), 0o755);
  await writeFile(join(t.context.root, 'package.json'), '{"type":"module"}\n');
});

test.afterEach.always(async (t) => {
  await rm(t.context.root, { recursive: true, force: true });
});

function runBin(root: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'bin', 'lambda.js'), ...args], (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('before a build: one line saying how to build, exit 1, no stack', async (t) => {
  const result = await runBin(t.context.root, ['list']);
  t.is(result.code, 1);
  t.is(result.stdout, '');
  t.is(result.stderr, ` !     the lambda CLI is not built yet: run \`npm start\` or \`npm run build\` in ${t.context.root} first\n`);
});

test('after a build: runs dist/cli/main.js with the arguments and exits with its status', async (t) => {
  await mkdir(join(t.context.root, 'dist', 'cli'), { recursive: true });
  await writeFile(
    join(t.context.root, 'dist', 'cli', 'main.js'),
    'export async function run(argv) { process.stdout.write(JSON.stringify(argv)); return 4; }\n',
  );
  const result = await runBin(t.context.root, ['invoke', 'ghost', '--json']);
  t.is(result.code, 4);
  t.is(result.stdout, '["invoke","ghost","--json"]');
  t.is(result.stderr, '');
});

test('bin/lambda runs the lambda.js beside it, from any folder and through a link to it', async (t) => {
  await mkdir(join(t.context.root, 'dist', 'cli'), { recursive: true });
  await writeFile(join(t.context.root, 'dist', 'cli', 'main.js'), 'export async function run(argv) { process.stdout.write(argv.join(",")); return 3; }\n');
  const elsewhere = join(t.context.root, 'elsewhere');
  await mkdir(elsewhere);
  await symlink(join(t.context.root, 'bin', 'lambda'), join(elsewhere, 'lambda'));
  for (const program of [join(t.context.root, 'bin', 'lambda'), join(elsewhere, 'lambda')]) {
    const result = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(program, ['list', '--json'], { cwd: elsewhere }, (error, stdout) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout }));
    });
    t.deepEqual(result, { code: 3, stdout: 'list,--json' }, program);
  }
});
