// SigV4 for Bedrock: every upstream request is signed for service `bedrock` in the provider's
// region with credentials from the standard AWS chain (environment, shared config and credentials
// files, SSO, web identity, container and instance metadata), resolved once per provider config
// and refreshed by the chain before they expire.
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { ProviderConfig } from '../../config/schema.js';
import type { OutgoingRequest } from '../provider.js';
import { bedrockRegion } from './request.js';

interface Signer {
  readonly signer: SignatureV4;
  readonly url: URL;
}

const signers = new WeakMap<ProviderConfig, Signer>();

function signerFor(config: ProviderConfig): Signer {
  let entry = signers.get(config);
  if (!entry) {
    // The config schema refuses a Bedrock provider without a region (see providerSchema).
    const region = bedrockRegion(config)!;
    entry = { signer: new SignatureV4({ service: 'bedrock', region, credentials: defaultProvider(), sha256: Hash.bind(null, 'sha256') }), url: new URL(config.baseUrl) };
    signers.set(config, entry);
  }
  return entry;
}

export async function sign(config: ProviderConfig, request: OutgoingRequest): Promise<Record<string, string>> {
  const { signer, url } = signerFor(config);
  const path = request.path.split('?', 1)[0]!;
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path,
    query: {},
    // The host is signed, so it is sent as signed rather than left to the HTTP client.
    headers: { ...request.headers, host: url.host },
    body: request.body,
  });
  return signed.headers;
}
