import type { Client as WsClient } from 'graphql-ws';
import { type FormEvent, useState } from 'react';
import { useMutation } from 'urql';
import { graphql } from '../gql/index.ts';
import { type Item, type LiveStatus, useLiveList } from '../live/list-events.ts';
import { initials, type PresenceEntry, usePresence } from '../live/presence.ts';
import { ShareDialog } from './share-dialog.tsx';

const CreateItemDoc = graphql(`
  mutation CreateItem($input: CreateItemInput!) {
    createItem(input: $input) {
      __typename
      ... on Error {
        message
      }
    }
  }
`);

const UpdateItemDoc = graphql(`
  mutation UpdateItem($input: UpdateItemInput!) {
    updateItem(input: $input) {
      __typename
      ... on ConflictError {
        message
        currentItem {
          ...ItemFields
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

const STATUS: Record<LiveStatus, string> = {
  connecting: 'Connecting…',
  live: 'Live.',
  revoked: 'Your access to this list was removed.',
  missing: 'No such list, or no access.',
};

interface Me {
  id: string;
  email: string;
}

/** A list with its items live, who is on it, the editing highlight, and the share dialog. */
export function ListView({ listId, me, ws }: { listId: string; me: Me; ws: WsClient }) {
  const live = useLiveList(listId, ws);
  const presence = usePresence(listId);
  const [sharing, setSharing] = useState(false);
  const [, createItem] = useMutation(CreateItemDoc);
  const [title, setTitle] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const editors = new Map(
    presence.roster
      .filter((e) => e.status === 'EDITING' && e.itemId && e.user?.id !== me.id)
      .map((e) => [e.itemId, e] as const),
  );
  const canEdit = live.list?.viewerRole && live.list.viewerRole !== 'VIEWER';

  const add = async (event: FormEvent) => {
    event.preventDefault();
    if (!title.trim()) return;
    const { data, error } = await createItem({ input: { listId, title: title.trim() } });
    const result = data?.createItem;
    setProblem(error?.message ?? (result && 'message' in result ? result.message : null));
    if (result?.__typename === 'CreateItemPayload') setTitle('');
  };

  return (
    <section className="list">
      <header>
        <h2 className="list-name">{live.name}</h2>
        {live.list && (
          <small>
            in {live.list.workspace.name} · {live.list.viewerRole ?? 'no role'}
          </small>
        )}
        <span className={`status ${live.status}`}>{STATUS[live.status]}</span>
        {live.list && (
          <button type="button" onClick={() => setSharing(true)}>
            Share
          </button>
        )}
      </header>
      {live.error && <p className="error">{live.error}</p>}
      <div className="avatars">
        {presence.roster.map((entry) => (
          <Avatar key={entry.user?.id ?? 'anonymous'} entry={entry} />
        ))}
      </div>
      <ul className="items">
        {live.items.map((item) => (
          <ItemRow
            key={item.id}
            item={item}
            editor={editors.get(item.id)}
            readOnly={!canEdit}
            onFocus={() => presence.editing(item.id)}
            onBlur={() => presence.viewing()}
          />
        ))}
      </ul>
      {canEdit && (
        <form className="new-item" onSubmit={add}>
          <input name="new-item" placeholder="New item" value={title} onChange={(e) => setTitle(e.target.value)} />
          <button type="submit">Add</button>
        </form>
      )}
      {problem && <p className="error">{problem}</p>}
      {sharing && live.list && <ShareDialog listId={listId} onClose={() => setSharing(false)} />}
    </section>
  );
}

function Avatar({ entry }: { entry: PresenceEntry }) {
  const who = entry.anonymous || !entry.user ? 'Anonymous viewer' : (entry.user.name ?? entry.user.email);
  return (
    <span
      className={`avatar ${entry.status === 'EDITING' ? 'editing' : ''}`}
      data-email={entry.user?.email ?? ''}
      title={`${who} — ${entry.status.toLowerCase()}`}
    >
      {initials(entry)}
      {entry.sessions > 1 && <span className="tabs">{entry.sessions}</span>}
    </span>
  );
}

/**
 * One item: its title is edited in place. While the field has focus the draft is mine and the
 * highlight tells the others; on blur it is saved against the version I started from, so a
 * title someone else changed meanwhile comes back as a conflict instead of being overwritten.
 */
function ItemRow({
  item,
  editor,
  readOnly,
  onFocus,
  onBlur,
}: {
  item: Item;
  editor: PresenceEntry | undefined;
  readOnly: boolean;
  onFocus: () => void;
  onBlur: () => void;
}) {
  const [draft, setDraft] = useState<{ title: string; version: number } | null>(null);
  const [conflict, setConflict] = useState<string | null>(null);
  const [, updateItem] = useMutation(UpdateItemDoc);

  const save = async () => {
    if (!draft) return;
    onBlur();
    setDraft(null);
    if (draft.title === item.title) return;
    const { data, error } = await updateItem({
      input: { id: item.id, expectedVersion: draft.version, patch: { title: draft.title } },
    });
    const result = data?.updateItem;
    if (result?.__typename === 'ConflictError') {
      setConflict(`${result.message}: now “${result.currentItem?.title ?? item.title}”`);
    } else {
      setConflict(error?.message ?? (result && 'message' in result ? result.message : null));
    }
  };

  return (
    <li className={editor ? 'item editing' : 'item'} data-id={item.id}>
      <input
        aria-label="Title"
        readOnly={readOnly}
        value={draft?.title ?? item.title}
        onFocus={() => {
          if (readOnly) return;
          setDraft({ title: item.title, version: item.version });
          setConflict(null);
          onFocus();
        }}
        onChange={(e) => setDraft({ title: e.target.value, version: draft?.version ?? item.version })}
        onBlur={save}
        onKeyDown={(e) => e.key === 'Enter' && e.currentTarget.blur()}
      />
      {editor && <span className="who">{editor.user?.name ?? editor.user?.email ?? 'Someone'} is editing</span>}
      {conflict && <span className="error">{conflict}</span>}
    </li>
  );
}
