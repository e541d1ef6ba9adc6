import test from 'ava';
import { MANYLINUX_LIBRARIES, hostLibraries } from './rootfs-python.js';

const CACHE = [
  '12 libs found in cache `/etc/ld.so.cache\'',
  '\tlibstdc++.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libstdc++.so.6',
  '\tlibstdc++.so.6 (libc6) => /lib/i386-linux-gnu/libstdc++.so.6',
  '\tlibgcc_s.so.1 (libc6) => /lib/i386-linux-gnu/libgcc_s.so.1',
  '\tlibgcc_s.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libgcc_s.so.1',
  '\tlibc.so.6 (libc6,x86-64, OS ABI: Linux 3.2.0) => /lib/x86_64-linux-gnu/libc.so.6',
].join('\n');

test('each library is taken from the folder of the interpreter’s own C library; one this machine lacks is left out', (t) => {
  t.deepEqual(hostLibraries(['libgcc_s.so.1', 'libstdc++.so.6', 'libnsl.so.1'], '/lib/x86_64-linux-gnu/libc.so.6', CACHE), [
    '/lib/x86_64-linux-gnu/libgcc_s.so.1',
    '/lib/x86_64-linux-gnu/libstdc++.so.6',
  ]);
  t.deepEqual(hostLibraries(['libgcc_s.so.1'], undefined, CACHE), ['/lib/i386-linux-gnu/libgcc_s.so.1']);
});

test('the list holds what compiled wheels link most: the C++ runtime and its GCC support library', (t) => {
  t.true(MANYLINUX_LIBRARIES.includes('libstdc++.so.6'));
  t.true(MANYLINUX_LIBRARIES.includes('libgcc_s.so.1'));
});
