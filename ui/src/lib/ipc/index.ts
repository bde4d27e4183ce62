// The one door between the window and the Rust side: typed calls that throw a typed error, and
// typed event subscriptions. Components import this module, never the generated bindings.
import {
  commands,
  events,
  type AgentState,
  type AgentStateView,
  type CallBoard,
  type CommandError,
  type Customer,
  type CustomerFile,
  type CustomerId,
  type CustomerSummary,
  type Disposition,
  type ErrorCode,
  type HubStatus,
  type InteractionId,
  type Priority,
  type SyncView,
  type TicketId,
  type TicketStatus,
  type Typing,
  type WorkList,
  type ConversationId,
  type WriteView,
  type Resolution,
  type MyDay,
} from "./bindings";
import type { TicketEdit } from "../tickets";

export type {
  MyDay,
  WriteView,
  Resolution,
  WorkList,
  ConversationId,
  AgentState,
  AgentStateView,
  CallBoard,
  Customer,
  CustomerFile,
  CustomerId,
  CustomerSummary,
  Disposition,
  ErrorCode,
  HubStatus,
  InteractionId,
  Priority,
  SyncView,
  TicketId,
  TicketStatus,
};
export type {
  SyncState,
  CallStage,
  CallView,
  PhoneLine,
  Connectivity,
  DemoLogin,
  Identity,
  IdentityKind,
  SignedInAgent,
  Ticket,
  OrderFile,
  Interaction,
  Note,
  WrapUp,
  Cart,
  Transaction,
  Money,
  ChatView,
  OfferView,
  Message,
} from "./bindings";

/** A command's failure, carrying the stable code the Rust side chose. */
export class IpcError extends Error {
  readonly code: ErrorCode;

  constructor(error: CommandError) {
    super(error.message);
    this.name = "IpcError";
    this.code = error.code;
  }
}

type Outcome<T> = { status: "ok"; data: T } | { status: "error"; error: CommandError };

/** Turns a command's result object into a value or a thrown IpcError. */
export async function unwrap<T>(outcome: Promise<Outcome<T>>): Promise<T> {
  const result = await outcome;
  if (result.status === "error") {
    throw new IpcError(result.error);
  }
  return result.data;
}

export const ipc = {
  hubStatus: (): Promise<HubStatus> => commands.hubStatus(),
  retryHub: (): Promise<HubStatus> => unwrap(commands.retryHub()),
  signIn: (login: string, password: string): Promise<HubStatus> =>
    unwrap(commands.signIn(login, password)),
  signOut: (): Promise<HubStatus> => unwrap(commands.signOut()),
  listCustomers: (query: string | null): Promise<CustomerSummary[]> =>
    unwrap(commands.listCustomers(query)),
  getCustomer: (id: CustomerId): Promise<Customer> => unwrap(commands.getCustomer(id)),

  syncView: (): Promise<SyncView | null> => commands.syncView(),
  /** Calls `handler` with every change of the cache's sync; resolves to a stop function. */
  onSync: (handler: (sync: SyncView | null) => void): Promise<() => void> =>
    events.syncChanged.listen((event) => handler(event.payload)),
  /** Calls `handler` whenever a customer types in one of the agent's chats. */
  onTyping: (handler: (typing: Typing) => void): Promise<() => void> =>
    events.typingHeard.listen((event) => handler(event.payload)),
  typing: (interaction: InteractionId): Promise<null> => unwrap(commands.typing(interaction)),

  callBoard: (): Promise<CallBoard> => commands.callBoard(),
  answerCall: (id: string): Promise<null> => unwrap(commands.answerCall(id)),
  declineCall: (id: string): Promise<null> => unwrap(commands.declineCall(id)),
  hangUpCall: (id: string): Promise<null> => unwrap(commands.hangUpCall(id)),
  holdCall: (id: string, hold: boolean): Promise<null> => unwrap(commands.holdCall(id, hold)),
  muteCall: (id: string, muted: boolean): Promise<null> => unwrap(commands.muteCall(id, muted)),
  sendCallKeys: (id: string, keys: string): Promise<null> =>
    unwrap(commands.sendCallKeys(id, keys)),
  transferCall: (id: string, target: string): Promise<null> =>
    unwrap(commands.transferCall(id, target)),
  dial: (
    number: string,
    customer: CustomerId | null = null,
    conversation: ConversationId | null = null,
  ): Promise<string> => unwrap(commands.dial(number, customer, conversation)),
  linkCall: (id: string, customer: CustomerId): Promise<null> =>
    unwrap(commands.linkCall(id, customer)),
  wrapUpCall: (id: string, disposition: string, notes: string | null): Promise<null> =>
    unwrap(commands.wrapUpCall(id, disposition, notes)),
  dispositions: (): Promise<Disposition[]> => commands.dispositions(),

  customerFile: (id: CustomerId): Promise<CustomerFile> => unwrap(commands.customerFile(id)),
  addNote: (customer: CustomerId, interaction: InteractionId | null, body: string): Promise<null> =>
    unwrap(commands.addNote(customer, interaction, body)),
  openTicket: (
    customer: CustomerId,
    subject: string,
    priority: Priority,
    comment: string | null,
  ): Promise<null> => unwrap(commands.openTicket(customer, subject, priority, comment)),
  setTicketStatus: (ticket: TicketId, status: TicketStatus): Promise<null> =>
    unwrap(commands.setTicketStatus(ticket, status)),
  updateTicket: (ticket: TicketId, edit: TicketEdit): Promise<null> =>
    unwrap(
      commands.updateTicket(ticket, edit.subject, edit.status, edit.priority, edit.comment),
    ),
  agentState: (): Promise<AgentStateView | null> => unwrap(commands.agentState()),
  workList: (): Promise<WorkList> => unwrap(commands.workList()),
  writesNeedingMe: (): Promise<WriteView[]> => unwrap(commands.writesNeedingMe()),
  myDay: (): Promise<MyDay> => unwrap(commands.myDay()),
  resolveWrite: (id: string, resolution: Resolution): Promise<null> =>
    unwrap(commands.resolveWrite(id, resolution)),
  acceptOffer: (id: string): Promise<null> => unwrap(commands.acceptOffer(id)),
  declineOffer: (id: string): Promise<null> => unwrap(commands.declineOffer(id)),
  sendMessage: (interaction: InteractionId, body: string): Promise<null> =>
    unwrap(commands.sendMessage(interaction, body)),
  endInteraction: (id: string): Promise<null> => unwrap(commands.endInteraction(id)),
  wrapUpChat: (id: InteractionId, disposition: string, notes: string | null): Promise<null> =>
    unwrap(commands.wrapUpChat(id, disposition, notes)),
  setAgentState: (state: AgentState): Promise<null> => unwrap(commands.setAgentState(state)),

  /** Calls `handler` with every change of the calls; resolves to a function that stops it. */
  onCalls: (handler: (board: CallBoard) => void): Promise<() => void> =>
    events.callsChanged.listen((event) => handler(event.payload)),

  /** Calls `handler` with every hub status change; resolves to a function that stops it. */
  onHubStatus: (handler: (status: HubStatus) => void): Promise<() => void> =>
    events.hubStatusChanged.listen((event) => handler(event.payload)),
};
