import type { ServerResponse } from 'node:http';
import type { SimulatorContext } from './context.js';
import { platformError, sendJson, sendPlatformError } from './respond.js';

/**
 * `GET /webdeployments/v1/deployments/{deploymentId}/config.json`: the path Genesys' Messenger SDK
 * builds on `https://api-cdn.<host>` (MG `Urls.deploymentConfigUrl`); the simulator serves it on
 * its own address. The fields are those MG's `DeploymentConfig` model reads (its test fixture
 * `deploymentConfigResponse`), with the deployment's current settings.
 */
export const DEPLOYMENT_CONFIG_PATH = /^\/webdeployments\/v1\/deployments\/([^/]+)\/config\.json$/;

export function handleDeploymentConfig(
  res: ServerResponse,
  ctx: SimulatorContext,
  deploymentId: string,
  base: { apiUrl: string; wsUrl: string },
): void {
  if (!ctx.deployments.has(deploymentId)) {
    sendPlatformError(res, platformError(404, 'not.found', 'Deployment not found'));
    return;
  }
  const s = ctx.deployments.get(deploymentId);
  sendJson(res, 200, {
    id: deploymentId,
    version: '1',
    languages: ['en-us'],
    defaultLanguage: 'en-us',
    apiEndpoint: base.apiUrl,
    messenger: {
      enabled: true,
      apps: {
        conversations: {
          messagingEndpoint: base.wsUrl,
          showAgentTypingIndicator: s.showAgentTypingIndicator,
          showUserTypingIndicator: s.showUserTypingIndicator,
          autoStart: { ...s.autoStart },
          conversationDisconnect: { ...s.conversationDisconnect },
          conversationClear: { ...s.conversationClear },
        },
      },
      styles: { primaryColor: '#ff0000' },
      launcherButton: { visibility: 'On' },
      fileUpload: { modes: [] },
    },
    journeyEvents: { enabled: false },
    status: 'Active',
    auth: { enabled: false },
  });
}
