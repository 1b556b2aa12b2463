/**
 * nrp-jupyter's JupyterLab extension: the "NRP simulations" side panel, a status-bar item with the
 * number of running simulations, and commands to open a simulation's logs or control panel.
 * It is one more client of the server extension's REST API and /events (docs/architecture.md).
 */

import { ILabShell, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { MainAreaWidget } from '@jupyterlab/apputils';
import { IStatusBar } from '@jupyterlab/statusbar';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { NrpApi } from './api';
import { SimulationsModel } from './model';
import { SimulationsPanel } from './panel';
import { RunningCount } from './statusbar';

const PLUGIN_ID = 'nrp-jupyter-labextension:simulations';

namespace CommandIDs {
  export const open = 'nrp:open-simulations';
  export const logs = 'nrp:show-logs';
  export const controlPanel = 'nrp:open-control-panel';
}

const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16" height="16">
<g class="jp-icon3" fill="#616161"><circle cx="6" cy="7" r="2.5"/><circle cx="18" cy="7" r="2.5"/>
<circle cx="12" cy="17" r="2.5"/><path d="M7.5 8.5l3.4 6.2 1.2-.7-3.4-6.2zM16.5 8.5l-3.4 6.2-1.2-.7 3.4-6.2zM8 6.3h8v1.4H8z"/></g>
</svg>`;

export const nrpIcon = new LabIcon({ name: 'nrp-jupyter:simulations', svgstr: ICON_SVG });

/** The Python that shows the control panel of `simulationID` in a console of the server's kernel. */
export function controlPanelCode(simulationID: number): string {
  return [
    'from nrp_jupyter import Connection, ControlPanel, Simulation',
    `ControlPanel(Simulation(Connection.discover(), ${simulationID}))`
  ].join('\n');
}

/** A console panel, as far as this extension needs it (no dependency on @jupyterlab/console). */
interface IConsoleLike extends Widget {
  sessionContext: { path: string; ready: Promise<void> };
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'A side panel for the simulations of the nrp_jupyter server extension',
  autoStart: true,
  requires: [ILabShell],
  optional: [IStatusBar],
  activate: (app: JupyterFrontEnd, shell: ILabShell, statusBar: IStatusBar | null) => {
    const api = new NrpApi();
    const model = new SimulationsModel(api);

    const panel = new SimulationsPanel(model, api, {
      showLogs: simulationID => app.commands.execute(CommandIDs.logs, { simulationID }),
      openControlPanel: simulationID => app.commands.execute(CommandIDs.controlPanel, { simulationID })
    });
    panel.title.icon = nrpIcon;
    shell.add(panel, 'left', { rank: 600 });

    app.commands.addCommand(CommandIDs.open, {
      label: 'NRP Simulations',
      execute: () => shell.activateById(panel.id)
    });

    app.commands.addCommand(CommandIDs.logs, {
      label: 'Show NRP Simulation Logs',
      execute: async args => {
        const simulationID = Number(args.simulationID);
        const logs = await api.logs(simulationID);
        const content = new Widget();
        content.addClass('nrp-logs');
        for (const file of logs.files) {
          const heading = document.createElement('h4');
          heading.textContent = file.name;
          const text = document.createElement('pre');
          text.textContent = file.content;
          content.node.append(heading, text);
        }
        if (!logs.files.length) {
          content.node.textContent = 'No log files.';
        }
        const widget = new MainAreaWidget({ content });
        widget.id = `nrp-logs-${simulationID}-${Date.now()}`;
        widget.title.label = `Logs of simulation ${simulationID}`;
        widget.title.icon = nrpIcon;
        widget.title.closable = true;
        shell.add(widget, 'main');
        shell.activateById(widget.id);
      }
    });

    app.commands.addCommand(CommandIDs.controlPanel, {
      label: 'Open NRP Control Panel',
      execute: async args => {
        const simulationID = Number(args.simulationID);
        const console = (await app.commands.execute('console:create', {
          name: `Simulation ${simulationID}`,
          insertMode: 'split-right',
          kernelPreference: { name: 'python3', shouldStart: true }
        })) as IConsoleLike;
        await console.sessionContext.ready;
        await app.commands.execute('console:inject', {
          path: console.sessionContext.path,
          code: controlPanelCode(simulationID),
          activate: true
        });
      }
    });

    if (statusBar) {
      statusBar.registerStatusItem(PLUGIN_ID, {
        item: new RunningCount(model, () => shell.activateById(panel.id)),
        align: 'left',
        rank: 5
      });
    }
    model.start();
  }
};

export default plugin;
