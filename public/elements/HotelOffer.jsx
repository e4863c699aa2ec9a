// A hotel offer as a card: name, stars, address, dates and nights, room and board, free
// cancellation, price and a Book button. Props come from web/offer_cards.py hotel_card.
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardFooter, CardHeader } from '@/components/ui/card';
import { BedDouble, CalendarDays, Check, MapPin, Star } from 'lucide-react';
import { useState } from 'react';

export default function HotelOffer() {
  const [sending, setSending] = useState(false);
  const open = props.state === 'open';
  const book = () => {
    setSending(true);
    callAction({
      name: 'book_option',
      payload: { say: props.say, answer: props.answer, number: props.number }
    });
  };
  return (
    <Card data-testid="offer-card" data-state={props.state} data-number={props.number}
          className={props.state === 'closed' ? 'opacity-60' : ''}>
      <CardHeader className="flex flex-row items-start justify-between gap-2 p-4 pb-2">
        <div className="flex flex-col gap-1">
          <span className="font-semibold" data-testid="hotel-name">#{props.number} {props.name}</span>
          <span className="flex items-center" aria-label={`${props.stars} stars`}>
            {Array.from({ length: props.stars }, (_, i) => (
              <Star key={i} className="h-3 w-3 fill-current" />
            ))}
          </span>
        </div>
        <div className="flex flex-col items-end">
          <span className="text-lg font-bold" data-testid="offer-price">{props.price}</span>
          <span className="text-xs text-muted-foreground">{props.nightly} a night</span>
        </div>
      </CardHeader>
      <CardContent className="flex flex-col gap-2 p-4 pt-0 text-sm">
        <span className="flex items-center gap-2 text-muted-foreground">
          <MapPin className="h-4 w-4" />{props.address}{props.distance ? ` · ${props.distance}` : ''}
        </span>
        <span className="flex items-center gap-2">
          <CalendarDays className="h-4 w-4" />{props.dates} · {props.nights} night(s)
        </span>
        <span className="flex items-center gap-2">
          <BedDouble className="h-4 w-4" />{props.room} · {props.board} · {props.guests} guest(s)
        </span>
        <div className="flex flex-wrap gap-2">
          <Badge variant="outline">{props.free_cancellation || 'Non-refundable'}</Badge>
        </div>
      </CardContent>
      <CardFooter className="justify-end p-4 pt-0">
        {open ? (
          <Button aria-label={props.label} disabled={sending} onClick={book}>
            {sending ? 'Booking…' : 'Book'}
          </Button>
        ) : props.state === 'chosen' ? (
          <Badge><Check className="h-3 w-3 mr-1" />Chosen</Badge>
        ) : null}
      </CardFooter>
    </Card>
  );
}
