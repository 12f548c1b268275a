/**
 * The types ws code names, from the Node entry: fixtures/ws-types.ts is compiled with the
 * project's compiler options, and must have no error but those it expects.
 */
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { expect, it } from 'vitest';

function diagnosticsOf(file: string): string[] {
  const configPath = fileURLToPath(new URL('../../tsconfig.json', import.meta.url));
  const config = ts.readConfigFile(configPath, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, fileURLToPath(new URL('../../', import.meta.url)));
  const program = ts.createProgram([file], { ...parsed.options, noEmit: true });
  const source = program.getSourceFile(file)!;
  return ts.getPreEmitDiagnostics(program, source).map((diagnostic) => {
    const { line } = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    return `${line + 1}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
  });
}

it('RawData, Data, ClientOptions, ServerOptions, VerifyClientCallbackSync/Async, WebSocket.* and a Set<WebSocket> of clients type-check as ws code uses them', () => {
  expect(diagnosticsOf(fileURLToPath(new URL('fixtures/ws-types.ts', import.meta.url)))).toEqual([]);
}, 60_000);
