'use strict';
// What `require('air780-bridge')` loads (package.json's "require" condition): the package is ESM
// only, and Node's own error for this (ERR_PACKAGE_PATH_NOT_EXPORTED) does not say what to do.
const err = new Error(
  "air780-bridge is an ES module and cannot be require()d: use `import { Modem } from 'air780-bridge'` " +
    '(in an .mjs file, or with "type": "module" in package.json), or from CommonJS `const { Modem } = await import(\'air780-bridge\')`.',
);
err.code = 'ERR_REQUIRE_ESM';
throw err;
