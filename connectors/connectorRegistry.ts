import type { AuthConfig } from '../hub/auth/authConfig.ts';
import type { ConnectorConfig } from '../hub/config/hubConfig.ts';
import { HubError } from '../hub/core/hubError.ts';
import { describeErrors, schemaValidator, sharedAjv } from '../hub/core/schemaValidator.ts';
import type { Connector, ConnectorContext, ConnectorKind } from './connector.ts';
import { fhirHttpKind } from './fhir-http/fhirHttpConnector.ts';
import { fhirPollKind } from './fhir-poll/fhirPollConnector.ts';
import { hl7v2FileKind } from './hl7v2-file/fileConnector.ts';
import { hl7v2HttpKind } from './hl7v2-http/httpConnector.ts';
import { hl7v2MllpKind } from './hl7v2-mllp/mllpConnector.ts';

/** Connector kinds by the `kind` used in config. A new kind is one module and one line here. */
const KINDS: Array<ConnectorKind<never>> = [hl7v2MllpKind, hl7v2FileKind, hl7v2HttpKind, fhirHttpKind, fhirPollKind] as Array<ConnectorKind<never>>;

export function connectorKinds(): string[] {
  return KINDS.map((k) => k.kind);
}

function kindOf(config: ConnectorConfig): ConnectorKind<never> {
  const kind = KINDS.find((k) => k.kind === config.kind);
  if (!kind) {
    throw new HubError('CONFIG_CONNECTOR_KIND_UNKNOWN', `connector "${config.id}" has unknown kind "${config.kind}" (known: ${connectorKinds().join(', ')})`, { path: `connectors.${config.id}.kind` });
  }
  return kind;
}

/**
 * Validates a connector's options against its kind's schema and returns them with defaults
 * filled in. The error names the connector and every bad key, e.g.
 * `connector "lis-results" (hl7v2-mllp): options.maxMessageBytes must be integer`.
 */
export function connectorOptions<O>(config: ConnectorConfig): O {
  const kind = kindOf(config);
  schemaValidator('config.schema.json'); // registers the definitions
  const validate = sharedAjv().getSchema(`urn:hub:schema:config#/definitions/${kind.optionsSchema}`);
  if (!validate) throw new HubError('CONFIG_SCHEMA_MISSING', `schemas/config.schema.json has no definition "${kind.optionsSchema}" for connector kind ${kind.kind}`);
  // A copy, so defaults filled in do not leak into the config object others hold.
  const options = structuredClone(config.options ?? {});
  if (!validate(options)) {
    const problems = describeErrors(validate.errors).map((p) => ({ ...p, path: p.path === '(root)' ? 'options' : `options.${p.path}` }));
    throw new HubError('CONFIG_CONNECTOR_OPTIONS_INVALID',
      `connector "${config.id}" (${config.kind}): ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`,
      { path: `connectors.${config.id}.${problems[0]?.path ?? 'options'}`, problems });
  }
  return options as O;
}

/**
 * Checks every enabled connector before any starts, so a bad entry does not leave half a hub
 * running: options, security (against the hub's `auth:` section), ports.
 */
export function validateConnectors(configs: ConnectorConfig[], auth?: AuthConfig): void {
  const listeners = new Map<string, string>();
  for (const c of configs.filter((x) => x.enabled !== false)) {
    kindOf(c).checkSecurity?.(c, connectorOptions<never>(c), auth);
    if (c.port !== undefined && c.port !== 0) {
      const at = `${c.host ?? '127.0.0.1'}:${c.port}`;
      const other = listeners.get(at);
      if (other) throw new HubError('CONFIG_CONNECTOR_PORT_TAKEN', `connectors "${other}" and "${c.id}" both listen on ${at}`, { path: `connectors.${c.id}.port` });
      listeners.set(at, c.id);
    }
  }
}

export function createConnector(ctx: ConnectorContext): Connector {
  const kind = kindOf(ctx.config);
  const options = connectorOptions<never>(ctx.config);
  kind.checkSecurity?.(ctx.config, options, ctx.hub.auth);
  return kind.create(ctx, options);
}
