// An nx plugin the release step adds to its staging workspace only: it gives every non-private package the
// `nx-release-publish` target that `nx release publish` runs (with @nx/js installed, @nx/js would add it).
// The target runs scripts/release/publish-package.mjs in the package's directory, after its dependencies.
const { readFileSync } = require('node:fs');
const { dirname, join } = require('node:path');

const publisher = join(__dirname, '..', 'publish-package.mjs');

exports.name = 'wirekube-release-publish';
exports.createNodesV2 = [
  'packages/*/package.json',
  (files, _options, context) =>
    files.map((file) => {
      const json = JSON.parse(readFileSync(join(context.workspaceRoot, file), 'utf8'));
      if (json.private) return [file, {}];
      const root = dirname(file);
      return [
        file,
        {
          projects: {
            [root]: {
              targets: {
                'nx-release-publish': {
                  executor: 'nx:run-commands',
                  dependsOn: ['^nx-release-publish'],
                  options: { command: `node ${JSON.stringify(publisher)}`, cwd: root, forwardAllArgs: false },
                  cache: false,
                },
              },
            },
          },
        },
      ];
    }),
];
